/* sepia's GError domain: every error names the file, device or instance that failed. */
#include "common/error.h"

G_DEFINE_QUARK(sepia - error - quark, sepia_error)
