/* What the C example needs from the emulated board: semihosting output and exit, the peak
 * stack, and an instruction clock (SysTick under QEMU's -icount: 40 instructions a tick). */
#ifndef BOARD_H
#define BOARD_H

#include <stdint.h>

void board_init(void);
void board_puts(const char *text);
void board_put_u32(uint32_t value);
void board_put_hex(const uint8_t *bytes, uint32_t len);
__attribute__((noreturn)) void board_exit(int code);
uint32_t board_stack_peak(void);

#endif
