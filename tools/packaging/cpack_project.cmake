# Read by cpack for each generator before it installs the project into its staging root. The
# install scripts run inside cpack's process, so this variable of its environment tells them that
# they fill a package: the unit goes where bookworm's packages put units (/lib/systemd/system),
# and the configuration is always the package's own (dpkg, not the install, keeps an edited one).
set(ENV{ZRELAY_PACKAGE_BUILD} "${CPACK_GENERATOR}")
