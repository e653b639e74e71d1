# The Debian package: `cpack -G DEB` in a release build tree (docs/deployment.md, "Installing the Debian
# package"; tests/package_test.sh installs, upgrades and removes it in a clean bookworm).
# CPack rather than a debian/ directory: the install rules are already CMake's, so the package
# holds exactly what `cmake --install` puts in place, and dpkg-shlibdeps (dpkg-dev) still
# computes the library dependencies as dh_shlibdeps would.
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME zrelay)
set(CPACK_PACKAGE_VENDOR zrelay)
set(CPACK_PACKAGE_CONTACT "zrelay maintainers <maintainers@users.noreply.r-seed-7a9cad50.example>"
    CACHE STRING "The Debian package's Maintainer:")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "${PROJECT_DESCRIPTION}")
set(CPACK_DEBIAN_PACKAGE_DESCRIPTION
    "zrelayd takes protobuf DataMessage envelopes on ZeroMQ PULL endpoints, validates them and
republishes them on XPUB endpoints by topic, with bounded memory, no loss where nodrop asks
for none, sequence stamps, replay of recent messages and Prometheus metrics. This package holds
zrelayd, its systemd unit (enabled and started on installation), its configuration in
/etc/zrelay, the zrelay client tool, the protocol's .proto files and the man pages.")
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
# Upstream version, then this packaging's revision: a rebuild of the same sources bumps it
# (cpack -D CPACK_DEBIAN_PACKAGE_RELEASE=2), so apt sees an upgrade.
set(CPACK_DEBIAN_PACKAGE_RELEASE 1)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
# Debian policy: installed binaries are stripped (the release build keeps its debug info).
set(CPACK_STRIP_FILES ON)
# libzmq5, libprotobuf32, ... as dpkg-shlibdeps finds them from the binaries; the maintainer
# scripts' deb-systemd-helper and deb-systemd-invoke are init-system-helpers' (the version
# debhelper asks for with them).
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_DEPENDS "init-system-helpers (>= 1.54~)")

# The configuration is a conffile: dpkg keeps an edited one on upgrade (asking only when the
# package's own file changed too) and removes it on purge. CPack marks nothing under /etc itself.
configure_file(${CMAKE_CURRENT_LIST_DIR}/debian/conffiles.in
               ${CMAKE_BINARY_DIR}/packaging/conffiles @ONLY)
set(_zrelay_debian ${CMAKE_CURRENT_LIST_DIR}/debian)
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    "${CMAKE_BINARY_DIR}/packaging/conffiles;${_zrelay_debian}/postinst;${_zrelay_debian}/prerm;${_zrelay_debian}/postrm")
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
# Tells the install scripts (systemd/install_unit.cmake, config/install_config.cmake) that they
# fill a package's staging root, not a machine.
set(CPACK_PROJECT_CONFIG_FILE ${CMAKE_CURRENT_LIST_DIR}/cpack_project.cmake)

include(CPack)
