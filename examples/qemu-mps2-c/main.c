/* A C firmware that applies a signed Mallorn bundle to a model slot on an emulated Cortex-M4
 * (QEMU mps2-an386), through the C ABI (mallorn_runtime.h) and the per-SKU header that
 * `cargo mallorn build` generates (mallorn.h): factory provisioning, boot, admission,
 * 512-byte fragments, finish, reset, trial boot, self-test, confirm. Prints
 * `MALLORN OK <sha256 of the active model>` (exit 0) or `MALLORN REJECTED <reason>` (exit 2,
 * the old model still active); anything else is `MALLORN FAILED ...` (exit 3).
 * Build with TAMPER_HEADER or TAMPER_PAYLOAD defined to flip one bit of the bundle. */
#include <string.h>

#include "board.h"
#include "mallorn.h"
#include "mallorn_runtime.h"

extern const uint8_t old_model[], old_model_end[], bundle[], bundle_end[];

/* The release the factory programs: the one before the latest, whose counter the generated
 * header (which describes the latest) does not carry. */
#define FACTORY_COUNTER (MALLORN_OKAY_NABU_SECURITY_COUNTER - 1)
#define FRAGMENT 512

static uint8_t *const nor = (uint8_t *)(uintptr_t)MALLORN_FLASH_BASE;
static uint32_t slot_b_ops;

static const uint8_t keys[MALLORN_TRUSTED_KEY_COUNT][32] = MALLORN_TRUSTED_KEYS;
static const mallorn_layout_t layout = {
    {MALLORN_OKAY_NABU_SLOT_A_OFFSET, MALLORN_OKAY_NABU_SLOT_A_SIZE},
    {MALLORN_OKAY_NABU_SLOT_B_OFFSET, MALLORN_OKAY_NABU_SLOT_B_SIZE},
    {MALLORN_OKAY_NABU_STATE_OFFSET, MALLORN_OKAY_NABU_STATE_SIZE},
};
static const mallorn_boot_policy_t policy = {MALLORN_TRIAL_BOOTS, MALLORN_VERIFY_TRIAL_BOOT};

static mallorn_updater_t updater;
static mallorn_session_t session;
static uint8_t work[MALLORN_WORK_LEN];
static uint8_t rx[FRAGMENT];
static mallorn_flash_t flash;

static __attribute__((noreturn)) void fail(const char *what, mallorn_status_t status) {
    board_puts("MALLORN FAILED ");
    board_puts(what);
    board_puts(": ");
    board_puts(mallorn_strerror(status));
    board_puts("\n");
    board_exit(3);
}

#define MUST(call)                                                                     \
    do {                                                                               \
        mallorn_status_t must_ = (call);                                               \
        if (must_ != MALLORN_OK) {                                                     \
            fail(#call, must_);                                                        \
        }                                                                              \
    } while (0)

static int in_slot_b(uint32_t offset) {
    return offset >= MALLORN_OKAY_NABU_SLOT_B_OFFSET &&
           offset - MALLORN_OKAY_NABU_SLOT_B_OFFSET < MALLORN_OKAY_NABU_SLOT_B_SIZE;
}

/* The NOR flash callbacks over PSRAM: NOR's rules are enforced (erase whole aligned blocks,
 * program aligned units that are erased), as on a real part. */
static int32_t nor_read(void *ctx, uint32_t offset, uint8_t *buf, size_t len) {
    (void)ctx;
    if ((uint64_t)offset + len > MALLORN_FLASH_SIZE) {
        return -1;
    }
    memcpy(buf, nor + offset, len);
    return 0;
}

static int32_t nor_program(void *ctx, uint32_t offset, const uint8_t *data, size_t len) {
    size_t i;
    (void)ctx;
    if ((uint64_t)offset + len > MALLORN_FLASH_SIZE || offset % MALLORN_WRITE_SIZE != 0 ||
        len % MALLORN_WRITE_SIZE != 0) {
        return -1;
    }
    for (i = 0; i < len; i++) {
        if (nor[offset + i] != 0xFF) {
            return -1;
        }
    }
    memcpy(nor + offset, data, len);
    slot_b_ops += (uint32_t)in_slot_b(offset);
    return 0;
}

static int32_t nor_erase(void *ctx, uint32_t from, uint32_t to) {
    (void)ctx;
    if (to > MALLORN_FLASH_SIZE || to < from || from % MALLORN_ERASE_SIZE != 0 ||
        to % MALLORN_ERASE_SIZE != 0) {
        return -1;
    }
    memset(nor + from, 0xFF, to - from);
    slot_b_ops += (uint32_t)in_slot_b(from);
    return 0;
}

/* A reset: open the updater again over the same flash and decide what to boot. */
static mallorn_boot_t reset(void) {
    mallorn_boot_t boot;
    MUST(mallorn_updater_open(&updater, &flash, &layout));
    MUST(mallorn_updater_boot(&updater, &policy, &boot));
    return boot;
}

/* The factory: erased flash, the old model in slot A, the journal provisioned. */
static void factory(void) {
    mallorn_image_t image;
    size_t len = (size_t)(old_model_end - old_model);
    memset(nor, 0xFF, MALLORN_FLASH_SIZE);
    memcpy(nor + MALLORN_OKAY_NABU_SLOT_A_OFFSET, old_model, len);
    image.len = len;
    MUST(mallorn_sha256(old_model, len, &image.sha256));
    MUST(mallorn_updater_provision(&updater, &flash, &layout, MALLORN_SLOT_A, &image,
                                   FACTORY_COUNTER));
}

/* Admission, then the payload in fragments through a receive buffer, as from a radio. */
static mallorn_status_t update(void) {
    mallorn_admission_t admission = {MALLORN_SKU_ID, MALLORN_OKAY_NABU_MODEL_ID, keys,
                                     MALLORN_TRUSTED_KEY_COUNT};
    uint8_t prefix[MALLORN_BUNDLE_PREFIX_LEN];
    mallorn_progress_t p;
    mallorn_status_t status;
    memcpy(prefix, bundle, sizeof prefix);
#ifdef TAMPER_HEADER
    prefix[40] ^= 0x01;
#endif
    status = mallorn_session_begin(&session, &updater, &admission, prefix, sizeof prefix, work,
                                   sizeof work);
    if (status != MALLORN_OK) {
        return status;
    }
    slot_b_ops = 0;
    for (;;) {
        size_t at, n;
        MUST(mallorn_session_progress(&session, &p));
        if (p.complete) {
            return mallorn_session_finish(&session, NULL);
        }
        at = (size_t)p.bundle_offset;
        n = (size_t)(bundle_end - bundle) - at;
        n = n < FRAGMENT ? n : FRAGMENT;
        memcpy(rx, bundle + at, n);
#ifdef TAMPER_PAYLOAD
        if (at <= TAMPER_PAYLOAD && TAMPER_PAYLOAD < at + n) {
            rx[TAMPER_PAYLOAD - at] ^= 0x10;
        }
#endif
        status = mallorn_session_feed(&session, rx, n);
        if (status != MALLORN_OK) {
            MUST(mallorn_session_abort(&session));
            return status;
        }
    }
}

/* SHA-256 of the model a boot decision names (slots are memory-mapped here). */
static void slot_sha256(const mallorn_boot_t *boot, uint8_t out[32]) {
    const uint8_t *slot = nor + boot->region.offset;
    MUST(mallorn_sha256(slot, (size_t)boot->image.len, (uint8_t(*)[32])out));
}

static void figures(void) {
    uint32_t peak = board_stack_peak();
    board_puts("work buffer     ");
    board_put_u32(sizeof work);
    board_puts(" bytes\npeak stack      ");
    board_put_u32(peak);
    board_puts(" bytes\nupdater         ");
    board_put_u32(sizeof updater);
    board_puts(" bytes\nsession         ");
    board_put_u32(sizeof session);
    board_puts(" bytes\nslot B ops      ");
    board_put_u32(slot_b_ops);
    board_puts("\n");
}

static int rejected(mallorn_status_t why) {
    mallorn_boot_t boot;
    uint8_t sha[32];
    MUST(mallorn_updater_cancel(&updater));
    boot = reset();
    if (boot.kind != MALLORN_BOOT_CONFIRMED || boot.slot != MALLORN_SLOT_A) {
        fail("old model not active after a refusal", MALLORN_ERR_OTHER);
    }
    slot_sha256(&boot, sha);
    figures();
    board_puts("active          slot A (old model) ");
    board_put_hex(sha, 32);
    board_puts("\nMALLORN REJECTED ");
    board_puts(mallorn_strerror(why));
    board_puts("\n");
    return 2;
}

int main(void) {
    mallorn_boot_t boot;
    mallorn_status_t status;
    uint8_t sha[32];
    flash.ctx = NULL;
    flash.read = nor_read;
    flash.program = nor_program;
    flash.erase = nor_erase;
    flash.read_size = 1;
    flash.write_size = MALLORN_WRITE_SIZE;
    flash.erase_size = MALLORN_ERASE_SIZE;
    flash.capacity = MALLORN_FLASH_SIZE;
    factory();
    boot = reset();
    if (boot.kind != MALLORN_BOOT_CONFIRMED || boot.slot != MALLORN_SLOT_A) {
        fail("first boot", MALLORN_ERR_OTHER);
    }
    status = update();
    if (status != MALLORN_OK) {
        return rejected(status);
    }
    boot = reset();
    if (boot.kind != MALLORN_BOOT_TRIAL || boot.slot != MALLORN_SLOT_B) {
        fail("trial boot", MALLORN_ERR_OTHER);
    }
    slot_sha256(&boot, sha); /* the self-test before confirming */
    if (memcmp(sha, boot.image.sha256, 32) != 0) {
        fail("self-test", MALLORN_ERR_RESULT_HASH_MISMATCH);
    }
    MUST(mallorn_updater_confirm(&updater));
    boot = reset();
    if (boot.kind != MALLORN_BOOT_CONFIRMED || boot.slot != MALLORN_SLOT_B) {
        fail("confirmed boot", MALLORN_ERR_OTHER);
    }
    slot_sha256(&boot, sha);
    figures();
    board_puts("MALLORN OK ");
    board_put_hex(sha, 32);
    board_puts("\n");
    return 0;
}
