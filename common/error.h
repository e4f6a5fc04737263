/* sepia's GError domain for everything that is not an image format: every error names the
 * file, device or instance that failed. */
#pragma once

#include <glib.h>

#define SEPIA_ERROR (sepia_error_quark())
GQuark sepia_error_quark(void);
