# Installs zrelayd.service, written with the installed paths (install(CODE) in CMakeLists.txt
# sets ZRELAY_UNIT_IN, ZRELAY_UNIT_OUT, ZRELAY_BINDIR, ZRELAY_DOCDIR and ZRELAY_CONFIG). Run at
# install time, so `cmake --install --prefix P` gets P's paths in ExecStart.
set(ZRELAYD_BIN "${CMAKE_INSTALL_PREFIX}/${ZRELAY_BINDIR}/zrelayd")
set(ZRELAY_README "${CMAKE_INSTALL_PREFIX}/${ZRELAY_DOCDIR}/README.md")
configure_file("${ZRELAY_UNIT_IN}" "${ZRELAY_UNIT_OUT}" @ONLY)
if(DEFINED ENV{ZRELAY_PACKAGE_BUILD})
  # The Debian package (tools/packaging/cpack_project.cmake): where bookworm's packages put units.
  set(unit_dir /lib/systemd/system)
else()
  set(unit_dir "${CMAKE_INSTALL_PREFIX}/lib/systemd/system")
endif()
file(INSTALL "${ZRELAY_UNIT_OUT}" DESTINATION "${unit_dir}")
