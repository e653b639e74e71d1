// zrelayd: parses the command line and maps every failure to its exit code. Nothing else.
#include <exception>
#include <iostream>

#include "cli.hpp"
#include "errors.hpp"

int main(int argc, char **argv) {
    using namespace zrelay;
    try {
        const cli_result cli = parse_cli(argc, argv);
        if (cli.exit_now)
            return *cli.exit_now;
        // The relay itself lands with the next milestone; until then there is nothing to run.
        std::cerr << "zrelayd: the relay is not implemented yet (see README)\n";
        return exit_internal;
    } catch (const usage_error &e) {
        std::cerr << "zrelayd: " << e.what() << "\nRun with --help for usage.\n";
        return exit_usage;
    } catch (const config_error &e) {
        std::cerr << "zrelayd: configuration error: " << e.what() << '\n';
        return exit_config;
    } catch (const endpoint_error &e) {
        std::cerr << "zrelayd: " << e.what() << '\n';
        return exit_unavailable;
    } catch (const std::exception &e) {
        std::cerr << "zrelayd: internal error: " << e.what() << '\n';
        return exit_internal;
    }
}
