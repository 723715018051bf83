// The ControlPlane conformance suite: one set of behaviour tests that every implementation
// passes (design, §Testing: "One parameterized conformance suite for ControlPlane, run
// against every implementation").
//
// The tests (TEST_P(ControlPlaneConformance, ...)) live in conformance.cc. An implementation
// runs them by instantiating the suite in its own test file:
//
//   INSTANTIATE_TEST_SUITE_P(
//       Raft, ControlPlaneConformance,
//       ::testing::Values(ConformanceTarget{"OneMaster", [] { return MakeRaftHarness(1); }}),
//       ConformanceTargetName);
//
// and by linking conformance.cc into that test binary as an object file (not through a
// static library, which would drop the test registrations).
//
// What the suite assumes of an implementation:
//   - each test gets a new harness: a started control plane over a new, empty cluster
//     (version whatever, but no nodes and no indices), which gets its cluster uuid by itself
//     within 30 s (the suite's SetUp waits for it);
//   - it may run the shard allocator on its own after index and node changes (the Raft
//     leader and the Kubernetes operator do), at any time and in the background. The tests
//     are written to hold either way: they only ask for copies the allocator would place the
//     same way, and they wait (with a deadline) for effects that may come later. A harness
//     that never allocates on its own says so (AllocatesAutomatically), which makes the
//     tests stricter, not looser.
#pragma once

#include <gtest/gtest.h>

#include <functional>
#include <memory>
#include <ostream>
#include <string>

#include "controlplane/control_plane.h"

namespace quidditch::controlplane::testing {

// Owns one started ControlPlane (and whatever it needs: processes, directories, servers)
// and tears it all down when destroyed.
class ConformanceHarness {
 public:
  virtual ~ConformanceHarness() = default;

  // The control plane under test: Start() has returned OK. Owned by the harness; valid until
  // the harness is destroyed. The suite may call Stop() on it; the harness must then still
  // shut down cleanly.
  virtual ControlPlane* cp() = 0;

  // True when the implementation assigns shard copies by itself (runs the allocator). When
  // false, the suite checks that copies stay UNASSIGNED until AllocateShard() and that every
  // AllocateShard() it makes succeeds; when true, that copies get assigned without it.
  virtual bool AllocatesAutomatically() const { return true; }
};

// One implementation (or configuration of one) to run the suite against.
struct ConformanceTarget {
  std::string name;  // a GoogleTest name: letters, digits and '_'
  // May skip the test (GTEST_SKIP-style, with the reason) and return nullptr when the target
  // cannot run on this machine (the Kubernetes target without Go).
  std::function<std::unique_ptr<ConformanceHarness>()> make;
};

// The test-name generator for INSTANTIATE_TEST_SUITE_P: the target's name.
std::string ConformanceTargetName(const ::testing::TestParamInfo<ConformanceTarget>& info);

// How GoogleTest prints a target (its name, not its bytes).
void PrintTo(const ConformanceTarget& target, std::ostream* os);

// The fixture. Each test makes a new harness in SetUp and destroys it in TearDown.
class ControlPlaneConformance : public ::testing::TestWithParam<ConformanceTarget> {
 protected:
  void SetUp() override;
  void TearDown() override;

  ControlPlane& cp() { return *harness_->cp(); }
  ConformanceHarness& harness() { return *harness_; }

 private:
  std::unique_ptr<ConformanceHarness> harness_;
};

}  // namespace quidditch::controlplane::testing
