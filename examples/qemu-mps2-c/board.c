/* Semihosting (SYS_OPEN ":tt", SYS_WRITE, SYS_EXIT_EXTENDED): QEMU prints and exits for the
 * firmware. */
#include "board.h"

#include <string.h>

static int semihost(int op, const void *arg) {
    register int r0 __asm__("r0") = op;
    register const void *r1 __asm__("r1") = arg;
    __asm__ volatile("bkpt 0xAB" : "+r"(r0) : "r"(r1) : "memory");
    return r0;
}

void board_puts(const char *text) {
    static int handle = -1;
    uint32_t block[3];
    if (handle < 0) {
        /* ":tt" opened for writing (mode 4): the host's stdout. */
        block[0] = (uint32_t)(uintptr_t)":tt";
        block[1] = 4;
        block[2] = 3;
        handle = semihost(0x01, block);
    }
    block[0] = (uint32_t)handle;
    block[1] = (uint32_t)(uintptr_t)text;
    block[2] = (uint32_t)strlen(text);
    semihost(0x05, block);
}

void board_put_u32(uint32_t value) {
    char buf[11];
    int i = 10;
    buf[i] = 0;
    do {
        buf[--i] = (char)('0' + value % 10);
        value /= 10;
    } while (value != 0);
    board_puts(&buf[i]);
}

void board_put_hex(const uint8_t *bytes, uint32_t len) {
    static const char digits[] = "0123456789abcdef";
    char buf[65];
    uint32_t i;
    for (i = 0; i < len && i < 32; i++) {
        buf[2 * i] = digits[bytes[i] >> 4];
        buf[2 * i + 1] = digits[bytes[i] & 15];
    }
    buf[2 * i] = 0;
    board_puts(buf);
}

void board_exit(int code) {
    /* ADP_Stopped_ApplicationExit with the exit code (SYS_EXIT_EXTENDED). */
    uint32_t block[2] = {0x20026, (uint32_t)code};
    semihost(0x20, block);
    for (;;) {
    }
}
