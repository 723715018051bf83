#include <iostream>
#include <string>
#include <vector>

#include "admin/admin.h"

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  return quidditch::admin::RunAdmin(args, std::cout, std::cerr);
}
