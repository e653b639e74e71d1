// The direct composition: the stages run one after the other on one thread.
#include "direct_path.hpp"

#include "stage_rig.hpp"

namespace zrelay {
namespace {

TEST(direct_path, runs_the_stages_in_order_and_drains) {
    testing::stage_rig rig(0);
    validator check({}, rig.counters.ingress);
    direct_path path(*rig.ingress_stage, check, *rig.egress_stage, rig.letters.get(),
                     rig.counters.ingress, rig.control);
    std::jthread thread([&] { path.run(); });
    ASSERT_NO_FATAL_FAILURE(testing::run_scenario(rig, [&] { thread.join(); }));
}

TEST(direct_path, abort_stops_an_idle_path) {
    testing::stage_rig rig(0);
    validator check({}, rig.counters.ingress);
    direct_path path(*rig.ingress_stage, check, *rig.egress_stage, nullptr, rig.counters.ingress,
                     rig.control);
    std::jthread thread([&] { path.run(); });
    rig.control.abort();
    thread.join(); // within idle_poll; the test's timeout catches a hang
}

} // namespace
} // namespace zrelay
