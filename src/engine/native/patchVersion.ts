// Must equal native/PATCH_VERSION: it tags the build folder (CMake option NLC_CLASP) and is compiled into
// the addon, so the loader can refuse a build of another patch version. `npm run build:native` checks it.
export const CLASP_PATCH_VERSION = 1;
