# The Debian package talkgate_<version>_amd64.deb (CPack DEB; scripts/build-deb.sh builds it
# from a plain Release tree with -DTALKGATE_PACKAGE=ON): the binary, the systemd unit, a settings
# example in /etc/talkgate/ (a conffile), talkgate(8) from `talkgate --help`, copyright and
# changelog. Dependencies come from dpkg-shlibdeps, never a hand-written list.
set(_debian ${CMAKE_CURRENT_LIST_DIR})
set(_out ${CMAKE_BINARY_DIR}/debian)

# The changelog's newest entry must name the version CMake builds (lintian reads both).
file(STRINGS ${_debian}/changelog _top LIMIT_COUNT 1)
if(NOT _top MATCHES "^talkgate \\(${PROJECT_VERSION}\\) ")
  message(FATAL_ERROR "deploy/debian/changelog starts with '${_top}': add an entry for "
                      "${PROJECT_VERSION} (the project's version)")
endif()

find_program(TALKGATE_HELP2MAN help2man REQUIRED)
find_program(TALKGATE_GZIP gzip REQUIRED)
add_custom_command(OUTPUT ${_out}/talkgate.8.gz
  COMMAND ${TALKGATE_HELP2MAN} --no-info --section=8 --no-discard-stderr
          "--name=answers Genesys NOTIFY talk/hold for WebRTC agents behind Asterisk"
          --include=${_debian}/talkgate.h2m --output=${_out}/talkgate.8 $<TARGET_FILE:talkgate>
  COMMAND ${TALKGATE_GZIP} -9nf ${_out}/talkgate.8
  DEPENDS talkgate ${_debian}/talkgate.h2m
  COMMENT "talkgate(8) from talkgate --help"
  VERBATIM)
add_custom_command(OUTPUT ${_out}/changelog.gz
  COMMAND ${TALKGATE_GZIP} -9nc ${_debian}/changelog > ${_out}/changelog.gz
  DEPENDS ${_debian}/changelog
  VERBATIM)
add_custom_target(talkgate_package_files ALL DEPENDS ${_out}/talkgate.8.gz ${_out}/changelog.gz)

# The repository's unit names /usr/local (cmake --install); the package's binary is /usr/bin.
file(READ ${PROJECT_SOURCE_DIR}/deploy/systemd/talkgate.service _unit)
string(REGEX REPLACE "^(#[^\n]*\n)+" "" _unit "${_unit}")
string(REPLACE "/usr/local/bin/" "/usr/bin/" _unit "${_unit}")
string(REGEX REPLACE "Documentation=[^\n]*" "Documentation=man:talkgate(8)" _unit "${_unit}")
file(WRITE ${_out}/talkgate.service
  "# Installed by the talkgate package. Settings: /etc/talkgate/talkgate.env (mode 600,\n"
  "# from /etc/talkgate/talkgate.env.example), then: systemctl enable --now talkgate\n"
  "${_unit}")
file(WRITE ${_out}/conffiles "/etc/talkgate/talkgate.env.example\n")

install(FILES ${_out}/talkgate.service DESTINATION /lib/systemd/system)
install(FILES ${PROJECT_SOURCE_DIR}/deploy/systemd/talkgate.env.example DESTINATION /etc/talkgate)
install(FILES ${_out}/talkgate.8.gz DESTINATION share/man/man8)
install(FILES ${_debian}/copyright ${_out}/changelog.gz DESTINATION share/doc/talkgate)

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME talkgate)
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_STRIP_FILES ON)
set(CPACK_PACKAGE_CONTACT
  "Seed 9ce721f3 maintainers <maintainers@users.noreply.b-seed-9ce721f3.example>")
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "Genesys NOTIFY talk/hold for WebRTC agents behind Asterisk")
# The extended description (CPack puts the summary above it as the synopsis).
string(CONCAT CPACK_DEBIAN_PACKAGE_DESCRIPTION
  "talkgate owns each Genesys call through Asterisk's ARI, learns of every\n"
  "in-dialog NOTIFY talk or hold (Asterisk's HEP copy of SIP, or AMI/ARI user\n"
  "events) and makes the agent answer, hold or retrieve through AMI PJSIPNotify\n"
  "and the agent desktop's bridge HTTP API. It serves a status API and\n"
  "Prometheus metrics.")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA ${_out}/conffiles)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
include(CPack)
