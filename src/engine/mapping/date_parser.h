// Internal to engine/mapping: the date formats ParseDate (mapping.h) understands.
//
// Hand-written because no installed library parses Java DateTimeFormatter patterns and
// OpenSearch's named formats (strict_date_optional_time, epoch_millis, ...); the subset here is
// what OpenSearch mappings commonly use.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include "common/status.h"

namespace quidditch::engine::mapping_internal {

// OK when `format` (one alternative, no "||") is a named format or a pattern of the supported
// letters (y u M d H m s S Z X x, quoted literals, punctuation); else InvalidArgument naming it.
Status ValidateDateFormat(std::string_view format);

// `value` as epoch milliseconds UTC under one format (no "||"), or nullopt when it does not
// parse. REQUIRES: ValidateDateFormat(format).ok() (an invalid format never matches).
std::optional<int64_t> ParseDateWithFormat(std::string_view value, std::string_view format);

// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil).
int64_t DaysFromCivil(int64_t year, unsigned month, unsigned day);

}  // namespace quidditch::engine::mapping_internal
