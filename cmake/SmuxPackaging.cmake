# CPack: `cpack -G DEB` in a build directory makes two Debian packages from the install rules:
#   smux-tools   the programs (component tools: smux-echo, smux-bench, smux-tunnel)
#   libsmux-dev  headers, static (or shared) libraries, CMake package, pkg-config files,
#                README, CHANGELOG and SECURITY (component development)
# `cpack -G TGZ` makes one archive of each. Dependencies of the programs come from
# dpkg-shlibdeps; the development package names the -dev packages its headers include.
set(CPACK_PACKAGE_NAME smux)
set(CPACK_PACKAGE_VENDOR "smux")
set(CPACK_PACKAGE_CONTACT "smux maintainers")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "${PROJECT_DESCRIPTION}")
set(CPACK_PACKAGE_VERSION "${PROJECT_VERSION}")
set(CPACK_PACKAGE_HOMEPAGE_URL "https://github.com/xtaci/smux")
set(CPACK_PACKAGING_INSTALL_PREFIX "/usr")
set(CPACK_COMPONENTS_ALL tools development)
set(CPACK_ARCHIVE_COMPONENT_INSTALL ON)

set(CPACK_DEB_COMPONENT_INSTALL ON)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_TOOLS_PACKAGE_NAME smux-tools)
set(CPACK_DEBIAN_TOOLS_PACKAGE_SECTION net)
set(CPACK_DEBIAN_TOOLS_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_DEVELOPMENT_PACKAGE_NAME libsmux-dev)
set(CPACK_DEBIAN_DEVELOPMENT_PACKAGE_SECTION libdevel)
set(_smux_dev_depends "libasio-dev (>= 1.22)")
if(TARGET smux_ssl OR SMUX_BUILD_KCP)
  string(APPEND _smux_dev_depends ", libssl-dev (>= 3)")
endif()
if(SMUX_BUILD_KCP)
  string(APPEND _smux_dev_depends ", libsodium-dev, libisal-dev, libsnappy-dev, pkgconf")
endif()
set(CPACK_DEBIAN_DEVELOPMENT_PACKAGE_DEPENDS "${_smux_dev_depends}")

set(CPACK_COMPONENT_TOOLS_DISPLAY_NAME "smux tools")
set(CPACK_COMPONENT_TOOLS_DESCRIPTION
    "smux-tunnel (a kcptun-compatible port forwarder), smux-echo and smux-bench")
set(CPACK_COMPONENT_DEVELOPMENT_DISPLAY_NAME "smux development files")
set(CPACK_COMPONENT_DEVELOPMENT_DESCRIPTION
    "Headers, libraries, CMake package and pkg-config files of smux, smux::core and smux::kcp")
include(CPack)
