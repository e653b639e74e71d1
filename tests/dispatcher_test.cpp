// The pipelined composition: dispatcher -> workers -> collector over ypipes, the same stage
// objects as the direct path, and the same scenario.
#include "dispatcher.hpp"

#include "collector.hpp"
#include "stage_rig.hpp"
#include "worker.hpp"

namespace zrelay {
namespace {

TEST(dispatcher, workers_and_collector_keep_order_with_credits_and_drain) {
    constexpr std::size_t lanes = 3;
    testing::stage_rig rig(lanes);
    credits inflight(100); // far fewer than the scenario sends: credits run out and come back
    std::vector<std::unique_ptr<pipe>> to;
    std::vector<std::unique_ptr<pipe>> from;
    std::vector<pipe *> dispatch_to;
    std::vector<pipe *> collect_from;
    std::vector<std::unique_ptr<worker>> workers;
    for (std::size_t i = 0; i < lanes; ++i) {
        to.push_back(std::make_unique<pipe>());
        from.push_back(std::make_unique<pipe>());
        dispatch_to.push_back(to.back().get());
        collect_from.push_back(from.back().get());
        workers.push_back(std::make_unique<worker>(*to.back(), *from.back(),
                                                   validator({}, rig.counters.workers[i]),
                                                   rig.counters.workers[i], rig.control));
    }
    dispatcher deal(*rig.ingress_stage, dispatch_to, true, inflight, rig.counters.ingress,
                    rig.control);
    collector collect(collect_from, *rig.egress_stage, rig.letters.get(), inflight,
                      rig.counters.egress, rig.control);
    std::vector<std::jthread> threads;
    threads.emplace_back([&] { collect.run(); });
    for (auto &w : workers)
        threads.emplace_back([&w] { w->run(); });
    threads.emplace_back([&] { deal.run(); });
    ASSERT_NO_FATAL_FAILURE(testing::run_scenario(rig, [&] { threads.clear(); }));
    EXPECT_EQ(inflight.in_flight(), 0);
}

} // namespace
} // namespace zrelay
