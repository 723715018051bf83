// Wiring: builds a node from its configuration and roles, and runs it.
#pragma once

#include "common/config.h"

namespace quidditch::node {

// Starts every role of `config`, serves until SIGINT or SIGTERM, then stops cleanly.
// Returns the process exit code: 0 after a clean stop, 1 when start-up failed (the reason is
// logged).
int RunNode(const Config& config);

}  // namespace quidditch::node
