// OpenSearch date math for range queries: an anchor ("now" or a date followed by "||") and
// operations "+1d", "-2M", "/d" (units y M w d h H m s). Rounding "/unit" goes down to the
// start of the unit, or, with `round_up` (gt and lte bounds), to its last millisecond.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace quidditch::engine {

// A fixed UTC offset from "Z", "UTC", "+01:00", "-0530", "+01"; InvalidArgument otherwise
// (named zones are not supported).
Result<int64_t> ParseTimeZoneOffsetMillis(std::string_view tz);

// Resolves `expr` to epoch milliseconds UTC. Dates are parsed by ParseDate (mapping.h) with
// `formats`; a date without its own offset is read in `tz_offset_millis`, and rounding
// happens in that zone too. Errors are InvalidArgument with OpenSearch-like reasons.
Result<int64_t> ParseDateMath(std::string_view expr, bool round_up,
                              const std::vector<std::string>& formats, int64_t now_millis,
                              int64_t tz_offset_millis);

}  // namespace quidditch::engine
