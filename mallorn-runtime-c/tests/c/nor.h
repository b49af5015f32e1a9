/* A RAM-backed NOR flash for the C API tests: NOR's rules enforced (erase whole aligned
 * blocks to 0xFF; program whole aligned units, each only once between erases), operations
 * counted, and a power cut after a given number of erase and program operations: the cut
 * operation is torn (an erase leaves its block half erased, a program writes half its
 * bytes) and every later operation fails, until the test "powers the device on" again. */
#ifndef NOR_H
#define NOR_H

#include <stddef.h>
#include <stdint.h>

#include "mallorn_runtime.h"

typedef struct {
    uint8_t *bytes;
    uint32_t capacity;
    uint32_t erase_size;
    uint32_t write_size;
    uint32_t read_size;
    uint32_t mutations;   /* erase and program calls that succeeded */
    uint32_t violations;  /* calls that broke NOR's rules: a test failure */
    long cut_after;       /* power is cut at this mutation (negative: never) */
    int off;              /* power is off: everything fails */
    void (*on_program)(void); /* called at every program before it is done (NULL: none) */
    uint32_t reads;       /* read calls */
    long fail_read_at;    /* this read fails once, nothing read (negative: never) */
    long fail_mutation_at; /* this erase or program fails once, nothing done (negative: never) */
} nor_t;

void nor_init(nor_t *nor, uint8_t *bytes, uint32_t capacity, uint32_t erase_size,
              uint32_t write_size, uint32_t read_size);
/* The callbacks of `nor` as the C API takes them. */
mallorn_flash_t nor_flash(nor_t *nor);
/* Turns the power back on (a reset): the contents stay, the cut is disarmed. */
void nor_power_on(nor_t *nor);

#endif
