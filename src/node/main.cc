// quidditch: one binary for every role (master, coordination, data).
//
// Exit codes: 0 after a clean shutdown (SIGINT/SIGTERM) or after --help, --version and
// --print-config; 2 for a bad command line or configuration (one line on stderr, nothing
// written); 1 when the node fails at run time.
#include <cstdio>
#include <iostream>

#include "common/config.h"
#include "node/node.h"

namespace {

int Fail(const quidditch::Status& status) {
  std::fprintf(stderr, "quidditch: %s\n", status.message().c_str());
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace quidditch;
  Result<CommandLine> cmdline = ParseCommandLine(argc, argv);
  if (!cmdline.ok()) return Fail(cmdline.status());
  if (cmdline->help) {
    std::cout << UsageText();
    return 0;
  }
  if (cmdline->version) {
    std::cout << "quidditch " << QUIDDITCH_VERSION << "\n";
    return 0;
  }
  Result<Config> config = LoadConfig(*cmdline, ProcessEnvironment());
  if (!config.ok()) return Fail(config.status());
  if (cmdline->print_config) {
    std::cout << ConfigToYaml(*config);
    return 0;
  }
  return node::RunNode(*config);
}
