#ifndef SLUICE_BUILD_INFO_H
#define SLUICE_BUILD_INFO_H

/// The commit this binary was built from (`make` passes it), or "unknown".
const char *sluice_build_commit(void);

#endif
