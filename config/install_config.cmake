# Installs the configuration without clobbering an edited one (install(CODE) in CMakeLists.txt
# sets ZRELAY_CONFIG_SOURCE and ZRELAY_CONFIG_DIR, an absolute path; DESTDIR applies).
#  - none there yet: the shipped file is installed;
#  - the same as the shipped file: nothing to do;
#  - a different (edited) one: it is kept, the shipped file goes next to it as zrelay.yaml.new,
#    and the install says so, as dpkg does with a changed conffile.
# A package's staging root (tools/packaging/cpack_project.cmake) always gets the shipped file:
# there dpkg, not the install, keeps the operator's.
set(shipped "${ZRELAY_CONFIG_SOURCE}")
get_filename_component(name "${shipped}" NAME)
set(installed "$ENV{DESTDIR}${ZRELAY_CONFIG_DIR}/${name}")
if(DEFINED ENV{ZRELAY_PACKAGE_BUILD} OR NOT EXISTS "${installed}")
  file(INSTALL "${shipped}" DESTINATION "${ZRELAY_CONFIG_DIR}")
else()
  file(SHA256 "${shipped}" shipped_sum)
  file(SHA256 "${installed}" installed_sum)
  if(shipped_sum STREQUAL installed_sum)
    message(STATUS "Up-to-date: ${installed}")
  else()
    file(INSTALL "${shipped}" DESTINATION "${ZRELAY_CONFIG_DIR}" RENAME "${name}.new")
    message(NOTICE "Kept ${installed}: it differs from the shipped configuration, which is "
                   "installed as ${installed}.new (compare them with diff).")
  endif()
endif()
