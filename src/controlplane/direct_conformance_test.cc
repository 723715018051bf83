// Runs the ControlPlane conformance suite against DirectControlPlane: StateBackedControlPlane
// over an in-process store, with each way of allocating shards.
#include <memory>

#include "controlplane/testing/conformance.h"
#include "controlplane/testing/direct_control_plane.h"

namespace quidditch::controlplane::testing {
namespace {

class DirectHarness : public ConformanceHarness {
 public:
  explicit DirectHarness(Allocation allocation) : cp_(allocation) {
    Status started = cp_.Start();
    EXPECT_TRUE(started.ok()) << started;
  }
  ControlPlane* cp() override { return &cp_; }
  bool AllocatesAutomatically() const override { return cp_.allocation() != Allocation::kManual; }

 private:
  DirectControlPlane cp_;
};

ConformanceTarget Target(std::string name, Allocation allocation) {
  return ConformanceTarget{std::move(name),
                           [allocation] { return std::make_unique<DirectHarness>(allocation); }};
}

INSTANTIATE_TEST_SUITE_P(
    Direct, ControlPlaneConformance,
    ::testing::Values(Target("ManualAllocation", Allocation::kManual),
                      Target("AllocationAfterEachChange", Allocation::kAfterEachChange),
                      Target("BackgroundAllocation", Allocation::kInBackground)),
    ConformanceTargetName);

}  // namespace
}  // namespace quidditch::controlplane::testing
