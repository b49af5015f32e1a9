/* Reset and exception vectors of the C example: copy .data, zero .bss, paint the stack (to
 * measure its peak), enable the FPU (the Rust staticlib is built for the hard-float ABI),
 * call main, exit through semihosting with its return value. */
#include <stdint.h>

#include "board.h"

extern uint32_t data_start, data_end, data_load, bss_start, bss_end, stack_end, stack_top;

int main(void);
void reset_handler(void);
void fault_handler(void);

/* Every exception but reset (the table is in assets.S, beside the models). */
void fault_handler(void) {
    board_puts("MALLORN FAILED fault\n");
    board_exit(3);
}

__attribute__((naked, noreturn)) void reset_handler(void) {
    __asm__ volatile(
        /* Paint the stack below the initial stack pointer (nothing runs on it yet). */
        "ldr r0, =stack_end\n"
        "mov r1, sp\n"
        "ldr r2, =0xCCCCCCCC\n"
        "1: cmp r0, r1\n"
        "bhs 2f\n"
        "str r2, [r0], #4\n"
        "b 1b\n"
        "2: bl board_init\n"
        "bl main\n"
        "bl board_exit\n"
        "b .\n");
}

void board_init(void) {
    uint32_t *src = &data_load, *dst = &data_start;
    while (dst < &data_end) {
        *dst++ = *src++;
    }
    for (dst = &bss_start; dst < &bss_end; dst++) {
        *dst = 0;
    }
    /* CPACR: full access to CP10 and CP11 (the FPU). */
    *(volatile uint32_t *)0xE000ED88 |= 0xFu << 20;
    __asm__ volatile("dsb\nisb");
}

uint32_t board_stack_peak(void) {
    const uint32_t *at = &stack_end;
    while (at < &stack_top && *at == 0xCCCCCCCCu) {
        at++;
    }
    return (uint32_t)((uintptr_t)&stack_top - (uintptr_t)at);
}
