/* serial: the first thing a VMM must do right. Prints a known line on COM1; the runner
 * finds it in the --serial log, and the exit status says the debug-exit port works. */
#include "lib.h"

int main(void)
{
	serial_puts("guest-kit serial: hello from a PVH payload, 0123456789 ABCDEF\n");
	check(true, "serial line written");
	return 0;
}
