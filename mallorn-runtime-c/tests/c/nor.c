#include "nor.h"

#include <string.h>

void nor_init(nor_t *nor, uint8_t *bytes, uint32_t capacity, uint32_t erase_size,
              uint32_t write_size, uint32_t read_size) {
    memset(nor, 0, sizeof *nor);
    nor->bytes = bytes;
    nor->capacity = capacity;
    nor->erase_size = erase_size;
    nor->write_size = write_size;
    nor->read_size = read_size;
    nor->cut_after = -1;
    nor->fail_read_at = -1;
    nor->fail_mutation_at = -1;
    memset(bytes, 0xFF, capacity);
}

void nor_power_on(nor_t *nor) {
    nor->off = 0;
    nor->cut_after = -1;
}

/* Whether this mutation is the one the power cut hits (it is then torn). */
/* Whether this mutation is the one that fails once without doing anything. */
static int fail_now(nor_t *nor) {
    if (nor->fail_mutation_at >= 0 && (long)nor->mutations == nor->fail_mutation_at) {
        nor->fail_mutation_at = -1;
        return 1;
    }
    return 0;
}

static int cut_now(nor_t *nor) {
    if (nor->cut_after >= 0 && (long)nor->mutations >= nor->cut_after) {
        nor->off = 1;
        return 1;
    }
    return 0;
}

static int32_t nor_read(void *ctx, uint32_t offset, uint8_t *buf, size_t len) {
    nor_t *nor = (nor_t *)ctx;
    if (nor->off) {
        return -1;
    }
    if (offset % nor->read_size != 0 || len % nor->read_size != 0 ||
        (uint64_t)offset + len > nor->capacity) {
        nor->violations++;
        return -1;
    }
    if (nor->fail_read_at >= 0 && (long)nor->reads++ == nor->fail_read_at) {
        nor->fail_read_at = -1;
        return -1;
    }
    memcpy(buf, nor->bytes + offset, len);
    return 0;
}

static int32_t nor_program(void *ctx, uint32_t offset, const uint8_t *data, size_t len) {
    nor_t *nor = (nor_t *)ctx;
    size_t i;
    if (nor->off) {
        return -1;
    }
    if (nor->on_program != NULL) {
        nor->on_program();
    }
    if (fail_now(nor)) {
        return -1;
    }
    if (offset % nor->write_size != 0 || len % nor->write_size != 0 ||
        (uint64_t)offset + len > nor->capacity) {
        nor->violations++;
        return -1;
    }
    for (i = 0; i < len; i++) {
        if (nor->bytes[offset + i] != 0xFF) {
            nor->violations++; /* programmed twice without an erase */
            return -1;
        }
    }
    if (cut_now(nor)) {
        memcpy(nor->bytes + offset, data, len / 2);
        return -1;
    }
    memcpy(nor->bytes + offset, data, len);
    nor->mutations++;
    return 0;
}

static int32_t nor_erase(void *ctx, uint32_t from, uint32_t to) {
    nor_t *nor = (nor_t *)ctx;
    if (nor->off) {
        return -1;
    }
    if (from % nor->erase_size != 0 || to % nor->erase_size != 0 || to < from ||
        to > nor->capacity) {
        nor->violations++;
        return -1;
    }
    if (fail_now(nor)) {
        return -1;
    }
    if (cut_now(nor)) {
        memset(nor->bytes + from, 0xFF, (to - from) / 2);
        return -1;
    }
    memset(nor->bytes + from, 0xFF, to - from);
    nor->mutations++;
    return 0;
}

mallorn_flash_t nor_flash(nor_t *nor) {
    mallorn_flash_t flash;
    flash.ctx = nor;
    flash.read = nor_read;
    flash.program = nor_program;
    flash.erase = nor_erase;
    flash.read_size = nor->read_size;
    flash.write_size = nor->write_size;
    flash.erase_size = nor->erase_size;
    flash.capacity = nor->capacity;
    return flash;
}
