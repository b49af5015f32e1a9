/* The C API driven from C over a RAM-backed NOR flash (nor.c), on the SKU and model of
 * examples/qemu-mps2 (its generated per-SKU header gives the layout, ids and trusted keys):
 * the signed delta and the full image applied byte-exact from fragments of 1 byte up,
 * tampered bundles and inadmissible devices refused with the old model intact and nothing
 * written, and a power cut at every erase or program of an update, resumed to the new model.
 *
 * Usage: host_test OLD_MODEL NEW_MODEL DELTA_BUNDLE FULL_BUNDLE OLD_SHA256_HEX
 * Run by tests/c_api.rs, which builds the bundles and compiles this with the sanitizers. */
#include "mallorn_runtime.h"
#include "mallorn.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nor.h"

static long checks;

#define CHECK(cond)                                                                    \
    do {                                                                               \
        checks++;                                                                      \
        if (!(cond)) {                                                                 \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);   \
            exit(1);                                                                   \
        }                                                                              \
    } while (0)

#define CHECK_STATUS(expr, expected)                                                   \
    do {                                                                               \
        mallorn_status_t got_ = (expr);                                                \
        checks++;                                                                      \
        if (got_ != (expected)) {                                                      \
            fprintf(stderr, "%s:%d: %s returned %d (%s), expected %s\n", __FILE__,     \
                    __LINE__, #expr, (int)got_, mallorn_strerror(got_), #expected);    \
            exit(1);                                                                   \
        }                                                                              \
    } while (0)

typedef struct {
    uint8_t *bytes;
    size_t len;
} blob_t;

static blob_t old_model, new_model, delta, full;
static uint8_t old_sha256[32];

static const uint8_t keys[MALLORN_TRUSTED_KEY_COUNT][32] = MALLORN_TRUSTED_KEYS;
static const uint8_t new_sha256[32] = MALLORN_OKAY_NABU_IMAGE_SHA256;
static const mallorn_layout_t layout = {
    {MALLORN_OKAY_NABU_SLOT_A_OFFSET, MALLORN_OKAY_NABU_SLOT_A_SIZE},
    {MALLORN_OKAY_NABU_SLOT_B_OFFSET, MALLORN_OKAY_NABU_SLOT_B_SIZE},
    {MALLORN_OKAY_NABU_STATE_OFFSET, MALLORN_OKAY_NABU_STATE_SIZE},
};
static const mallorn_boot_policy_t policy = {MALLORN_TRIAL_BOOTS, MALLORN_VERIFY_TRIAL_BOOT};

/* The device: its flash, the updater storage, the work buffer. */
static uint8_t flash_bytes[MALLORN_FLASH_SIZE];
static nor_t nor;
static mallorn_flash_t ops;
static mallorn_updater_t updater;
static mallorn_updater_t stale;
static mallorn_session_t session;
static uint8_t work[MALLORN_WORK_LEN];
static uint8_t slot_copy[MALLORN_OKAY_NABU_SLOT_A_SIZE];

static mallorn_admission_t admission(void) {
    mallorn_admission_t a = {MALLORN_SKU_ID, MALLORN_OKAY_NABU_MODEL_ID, keys,
                             MALLORN_TRUSTED_KEY_COUNT};
    return a;
}

static blob_t read_file(const char *path) {
    blob_t blob = {NULL, 0};
    FILE *f = fopen(path, "rb");
    long len;
    CHECK(f != NULL);
    CHECK(fseek(f, 0, SEEK_END) == 0);
    len = ftell(f);
    CHECK(len > 0);
    rewind(f);
    blob.len = (size_t)len;
    blob.bytes = (uint8_t *)malloc(blob.len);
    CHECK(blob.bytes != NULL);
    CHECK(fread(blob.bytes, 1, blob.len, f) == blob.len);
    fclose(f);
    return blob;
}

static void parse_hex(const char *hex, uint8_t out[32]) {
    int i;
    CHECK(strlen(hex) == 64);
    for (i = 0; i < 32; i++) {
        unsigned byte;
        CHECK(sscanf(hex + 2 * i, "%2x", &byte) == 1);
        out[i] = (uint8_t)byte;
    }
}

/* The factory: erased flash, the old model in slot A, the journal provisioned with
 * `committed` as the anti-rollback counter. */
static void factory(uint64_t committed) {
    mallorn_image_t image;
    nor_init(&nor, flash_bytes, MALLORN_FLASH_SIZE, MALLORN_ERASE_SIZE, MALLORN_WRITE_SIZE, 1);
    ops = nor_flash(&nor);
    memcpy(flash_bytes + MALLORN_OKAY_NABU_SLOT_A_OFFSET, old_model.bytes, old_model.len);
    image.len = old_model.len;
    memcpy(image.sha256, old_sha256, 32);
    CHECK_STATUS(mallorn_updater_provision(&updater, &ops, &layout, MALLORN_SLOT_A, &image,
                                           committed),
                 MALLORN_OK);
}

static const uint64_t factory_counter = MALLORN_OKAY_NABU_SECURITY_COUNTER - 1;

/* A reset: the power comes back, the updater is opened again and decides what to boot. */
static mallorn_boot_t reset(void) {
    mallorn_boot_t boot;
    nor_power_on(&nor);
    CHECK_STATUS(mallorn_updater_open(&updater, &ops, &layout), MALLORN_OK);
    CHECK_STATUS(mallorn_updater_boot(&updater, &policy, &boot), MALLORN_OK);
    return boot;
}

/* Feeds the rest of `bundle` from where the session stands, `fragment` bytes at a time. */
static mallorn_status_t feed_rest(const blob_t *bundle, size_t fragment) {
    mallorn_progress_t p;
    for (;;) {
        size_t at, n;
        mallorn_status_t status;
        CHECK_STATUS(mallorn_session_progress(&session, &p), MALLORN_OK);
        if (p.complete) {
            return MALLORN_OK;
        }
        at = (size_t)p.bundle_offset;
        CHECK(at < bundle->len);
        n = bundle->len - at < fragment ? bundle->len - at : fragment;
        status = mallorn_session_feed(&session, bundle->bytes + at, n);
        if (status != MALLORN_OK) {
            return status;
        }
    }
}

/* begin, feed, finish; the first failure's status (the session is then closed). */
static mallorn_status_t apply(const blob_t *bundle, const mallorn_admission_t *a,
                              size_t fragment) {
    mallorn_status_t status = mallorn_session_begin(&session, &updater, a, bundle->bytes,
                                                    MALLORN_BUNDLE_PREFIX_LEN, work, sizeof work);
    if (status != MALLORN_OK) {
        return status;
    }
    status = feed_rest(bundle, fragment);
    if (status != MALLORN_OK) {
        CHECK_STATUS(mallorn_session_abort(&session), MALLORN_OK);
        return status;
    }
    return mallorn_session_finish(&session, NULL);
}

static void check_slot(uint32_t slot, const blob_t *model) {
    CHECK_STATUS(mallorn_updater_read_slot(&updater, slot, 0, slot_copy, model->len), MALLORN_OK);
    CHECK(memcmp(slot_copy, model->bytes, model->len) == 0);
}

/* After a finished update: the next boot tries the new model in slot B, byte-exact; it is
 * confirmed and boots as the confirmed model after another reset. */
static void expect_new_model(void) {
    mallorn_boot_t boot = reset();
    mallorn_state_t state;
    CHECK(boot.kind == MALLORN_BOOT_TRIAL && boot.slot == MALLORN_SLOT_B);
    CHECK(boot.image.len == new_model.len);
    CHECK(memcmp(boot.image.sha256, new_sha256, 32) == 0);
    check_slot(MALLORN_SLOT_B, &new_model);
    CHECK_STATUS(mallorn_updater_confirm(&updater), MALLORN_OK);
    boot = reset();
    CHECK(boot.kind == MALLORN_BOOT_CONFIRMED && boot.slot == MALLORN_SLOT_B);
    CHECK_STATUS(mallorn_updater_state(&updater, &state), MALLORN_OK);
    CHECK(state.committed_counter == MALLORN_OKAY_NABU_SECURITY_COUNTER);
    CHECK(nor.violations == 0);
}

/* After a refusal: slot A still boots as the confirmed old model, byte-exact. */
static void expect_old_model(void) {
    mallorn_boot_t boot = reset();
    mallorn_state_t state;
    CHECK(boot.kind == MALLORN_BOOT_CONFIRMED && boot.slot == MALLORN_SLOT_A && !boot.resume);
    CHECK(boot.image.len == old_model.len && memcmp(boot.image.sha256, old_sha256, 32) == 0);
    check_slot(MALLORN_SLOT_A, &old_model);
    CHECK_STATUS(mallorn_updater_state(&updater, &state), MALLORN_OK);
    CHECK(state.phase == MALLORN_PHASE_IDLE && state.committed_counter == factory_counter);
    CHECK(nor.violations == 0);
}

static void test_fragment_sizes(void) {
    static const size_t sizes[] = {1, 2, 3, 7, 64, 511, 512, 4096, 8193, 1u << 20};
    size_t i;
    mallorn_admission_t a = admission();
    for (i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        mallorn_boot_t boot;
        factory(factory_counter);
        boot = reset();
        CHECK(boot.kind == MALLORN_BOOT_CONFIRMED && boot.slot == MALLORN_SLOT_A);
        CHECK_STATUS(apply(&delta, &a, sizes[i]), MALLORN_OK);
        expect_new_model();
    }
    factory(factory_counter);
    (void)reset();
    CHECK_STATUS(apply(&full, &a, 1000), MALLORN_OK);
    expect_new_model();
}

static void test_session_holds_the_updater(void) {
    mallorn_admission_t a = admission();
    mallorn_progress_t p;
    factory(factory_counter);
    (void)reset();
    CHECK_STATUS(mallorn_session_begin(&session, &updater, &a, delta.bytes,
                                       MALLORN_BUNDLE_PREFIX_LEN, work, sizeof work),
                 MALLORN_OK);
    CHECK_STATUS(mallorn_updater_confirm(&updater), MALLORN_ERR_BUSY);
    CHECK_STATUS(mallorn_updater_open(&updater, &ops, &layout), MALLORN_ERR_BUSY);
    CHECK_STATUS(mallorn_updater_close(&updater), MALLORN_ERR_BUSY);
    CHECK_STATUS(mallorn_session_begin(&session, &updater, &a, delta.bytes,
                                       MALLORN_BUNDLE_PREFIX_LEN, work, sizeof work),
                 MALLORN_ERR_BUSY);
    /* Storage that kept its bytes across a reset in the middle of this session (on the stack
     * or in a no-init section) still says so, and is refused until it is zeroed, as the docs
     * of mallorn_updater_open say. */
    memcpy(&stale, &updater, sizeof stale);
    CHECK_STATUS(mallorn_updater_open(&stale, &ops, &layout), MALLORN_ERR_BUSY);
    memset(&stale, 0, sizeof stale);
    CHECK_STATUS(mallorn_updater_open(&stale, &ops, &layout), MALLORN_OK);
    CHECK_STATUS(mallorn_updater_close(&stale), MALLORN_OK);
    CHECK_STATUS(mallorn_session_progress(&session, &p), MALLORN_OK);
    CHECK(!p.resumed && p.payload_offset == 0 && p.payload_len + 272 == delta.len);
    CHECK_STATUS(mallorn_session_finish(&session, NULL), MALLORN_ERR_PAYLOAD_TRUNCATED);
    CHECK_STATUS(mallorn_session_feed(&session, delta.bytes, 1), MALLORN_ERR_NOT_OPEN);
    CHECK_STATUS(mallorn_updater_cancel(&updater), MALLORN_OK);
    expect_old_model();
}

/* A program callback that calls back into the session and updater it serves (which the
 * docs forbid): every such call is refused, none ends or reaches the session in use. */
static long calls_back_refused, calls_back_other;
static void call_back(void) {
    mallorn_progress_t p;
    mallorn_state_t state;
    mallorn_status_t got[6];
    size_t i;
    got[0] = mallorn_session_feed(&session, delta.bytes, 1);
    got[1] = mallorn_session_progress(&session, &p);
    got[2] = mallorn_session_abort(&session);
    got[3] = mallorn_session_finish(&session, NULL);
    got[4] = mallorn_updater_cancel(&updater);
    got[5] = mallorn_updater_state(&updater, &state);
    for (i = 0; i < sizeof got / sizeof got[0]; i++) {
        if (got[i] == MALLORN_ERR_BUSY) {
            calls_back_refused++;
        } else {
            calls_back_other++;
        }
    }
}

static void test_callbacks_calling_back(void) {
    mallorn_admission_t a = admission();
    factory(factory_counter);
    (void)reset();
    CHECK_STATUS(mallorn_session_begin(&session, &updater, &a, delta.bytes,
                                       MALLORN_BUNDLE_PREFIX_LEN, work, sizeof work),
                 MALLORN_OK);
    calls_back_refused = calls_back_other = 0;
    nor.on_program = call_back;
    CHECK_STATUS(feed_rest(&delta, 4096), MALLORN_OK);
    CHECK_STATUS(mallorn_session_finish(&session, NULL), MALLORN_OK);
    nor.on_program = NULL;
    CHECK(calls_back_refused > 0 && calls_back_other == 0);
    expect_new_model();
}

/* A bundle with one bit flipped at `offset` is refused with `expected`. */
static void tampered(size_t offset, mallorn_status_t expected) {
    blob_t copy;
    mallorn_admission_t a = admission();
    copy.len = delta.len;
    copy.bytes = (uint8_t *)malloc(copy.len);
    CHECK(copy.bytes != NULL);
    memcpy(copy.bytes, delta.bytes, copy.len);
    copy.bytes[offset] ^= 0x10;
    factory(factory_counter);
    (void)reset();
    CHECK_STATUS(apply(&copy, &a, 512), expected);
    CHECK_STATUS(mallorn_updater_cancel(&updater), MALLORN_OK);
    expect_old_model();
    free(copy.bytes);
}

/* Admission refuses the bundle before anything is written. */
static void refused(const mallorn_admission_t *a, uint64_t committed, mallorn_status_t expected) {
    uint32_t before;
    factory(committed);
    (void)reset();
    before = nor.mutations;
    CHECK_STATUS(apply(&delta, a, 512), expected);
    CHECK(nor.mutations == before);
}

static void test_refusals(void) {
    mallorn_admission_t a = admission();
    size_t payload = delta.len - MALLORN_BUNDLE_PREFIX_LEN;
    tampered(MALLORN_HEADER_LEN + 5, MALLORN_ERR_BAD_SIGNATURE);
    tampered(MALLORN_BUNDLE_PREFIX_LEN, MALLORN_ERR_PAYLOAD_SEGMENT_MISMATCH);
    tampered(MALLORN_BUNDLE_PREFIX_LEN + payload / 2, MALLORN_ERR_PAYLOAD_SEGMENT_MISMATCH);
    tampered(delta.len - 1, MALLORN_ERR_PAYLOAD_SEGMENT_MISMATCH);
    a.sku_id[0] ^= 1;
    refused(&a, factory_counter, MALLORN_ERR_WRONG_SKU);
    a = admission();
    a.model_id[7] ^= 1;
    refused(&a, factory_counter, MALLORN_ERR_WRONG_MODEL);
    a = admission();
    a.trusted_keys = keys + 1; /* only the successor key: not the one that signed */
    a.trusted_key_count = 1;
    refused(&a, factory_counter, MALLORN_ERR_UNKNOWN_KEY);
    a = admission();
    refused(&a, MALLORN_OKAY_NABU_SECURITY_COUNTER, MALLORN_ERR_COUNTER_NOT_INCREASING);
    /* The control: the same device admits and applies the genuine bundle. */
    factory(factory_counter);
    (void)reset();
    CHECK_STATUS(apply(&delta, &a, 512), MALLORN_OK);
    expect_new_model();
}

static void test_header_tamper_and_small_buffer(void) {
    mallorn_admission_t a = admission();
    uint32_t before;
    factory(factory_counter);
    (void)reset();
    before = nor.mutations;
    CHECK_STATUS(mallorn_session_begin(&session, &updater, &a, delta.bytes,
                                       MALLORN_BUNDLE_PREFIX_LEN, work, 1000),
                 MALLORN_ERR_WORK_BUFFER_TOO_SMALL);
    delta.bytes[40] ^= 1; /* inside the signed header */
    CHECK(apply(&delta, &a, 512) != MALLORN_OK);
    delta.bytes[40] ^= 1;
    CHECK(nor.mutations == before);
    /* The base rotted in slot A since provisioning: refused before anything is written. */
    flash_bytes[MALLORN_OKAY_NABU_SLOT_A_OFFSET + 100] ^= 0x01;
    CHECK_STATUS(apply(&delta, &a, 512), MALLORN_ERR_WRONG_BASE);
    CHECK(nor.mutations == before);
}

/* Brings a device whose update was cut back to an update in place, then checks the new
 * model boots. Returns whether it resumed past the start of the payload. */
static int recover(void) {
    mallorn_admission_t a = admission();
    mallorn_boot_t boot = reset();
    mallorn_state_t state;
    int resumed = 0;
    CHECK_STATUS(mallorn_updater_state(&updater, &state), MALLORN_OK);
    /* Every cut is before the pending record is complete: the old model boots. */
    CHECK(boot.kind == MALLORN_BOOT_CONFIRMED && boot.slot == MALLORN_SLOT_A);
    if (state.phase == MALLORN_PHASE_UPDATING) {
        mallorn_progress_t p;
        CHECK(boot.resume);
        CHECK_STATUS(mallorn_session_begin(&session, &updater, &a, delta.bytes,
                                           MALLORN_BUNDLE_PREFIX_LEN, work, sizeof work),
                     MALLORN_OK);
        CHECK_STATUS(mallorn_session_progress(&session, &p), MALLORN_OK);
        CHECK(p.resumed && p.bundle_offset == boot.resume_bundle_offset);
        resumed = p.payload_offset > 0;
        CHECK_STATUS(feed_rest(&delta, 700), MALLORN_OK);
        CHECK_STATUS(mallorn_session_finish(&session, NULL), MALLORN_OK);
    } else {
        CHECK(state.phase == MALLORN_PHASE_IDLE);
        CHECK_STATUS(apply(&delta, &a, 700), MALLORN_OK);
    }
    expect_new_model();
    return resumed;
}

static void test_power_cuts(void) {
    mallorn_admission_t a = admission();
    uint32_t start, total, cut, in_spare = 0;
    int resumed = 0;
    factory(factory_counter);
    (void)reset();
    start = nor.mutations;
    CHECK_STATUS(apply(&delta, &a, 700), MALLORN_OK);
    total = nor.mutations - start;
    CHECK(total > 20);
    for (cut = 0; cut < total; cut++) {
        mallorn_status_t status;
        factory(factory_counter);
        (void)reset();
        nor.cut_after = (long)(nor.mutations + cut);
        status = apply(&delta, &a, 700);
        CHECK(nor.off);
        if (status == MALLORN_OK) {
            /* The journal writes every transition twice: a cut in the pending record's spare
             * (its write, or the bank erase before it) comes after the update is pending. */
            CHECK(cut + 2 >= total);
            in_spare++;
            expect_new_model();
        } else {
            resumed += recover();
        }
    }
    printf("power cuts: %u cut points, %d resumed mid-payload, %u in the pending record's spare\n",
           total, resumed, in_spare);
    CHECK(resumed > 0);
    CHECK(in_spare >= 1);
}

/* One read, or one erase or program, fails once during an update (nothing done, the
 * power stays on): the firmware aborts and begins again with the same bundle in the same
 * power cycle, and ends with the new model; slot A holds the old one until then. */
static void test_transient_faults(void) {
    mallorn_admission_t a = admission();
    uint32_t reads, mutations, k, step, failed = 0;
    int kind;
    factory(factory_counter);
    (void)reset();
    nor.reads = 0;
    nor.fail_read_at = 1L << 40;
    reads = nor.mutations;
    CHECK_STATUS(apply(&delta, &a, 700), MALLORN_OK);
    mutations = nor.mutations - reads;
    reads = nor.reads;
    for (kind = 0; kind < 2; kind++) {
        uint32_t total = kind == 0 ? reads : mutations;
        step = total / 150 + 1;
        for (k = 0; k < total; k += step) {
            mallorn_status_t status;
            factory(factory_counter);
            (void)reset();
            nor.reads = 0;
            if (kind == 0) {
                nor.fail_read_at = (long)k;
            } else {
                nor.fail_mutation_at = (long)(nor.mutations + k);
            }
            status = apply(&delta, &a, 700);
            CHECK(memcmp(flash_bytes + MALLORN_OKAY_NABU_SLOT_A_OFFSET, old_model.bytes,
                         old_model.len) == 0);
            if (status != MALLORN_OK) {
                failed++;
                status = apply(&delta, &a, 700);
                if (status != MALLORN_OK) {
                    fprintf(stderr, "%s %u: retry returned %d (%s)\n",
                            kind == 0 ? "read" : "mutation", k, (int)status,
                            mallorn_strerror(status));
                }
                CHECK_STATUS(status, MALLORN_OK);
            }
            nor.fail_read_at = nor.fail_mutation_at = -1;
            expect_new_model();
        }
    }
    printf("transient faults: %u reads, %u mutations, %u failed an apply\n", reads, mutations,
           failed);
    CHECK(failed > 0);
}

int main(int argc, char **argv) {
    if (argc != 6) {
        fprintf(stderr, "usage: %s OLD NEW DELTA FULL OLD_SHA256_HEX\n", argv[0]);
        return 2;
    }
    old_model = read_file(argv[1]);
    new_model = read_file(argv[2]);
    delta = read_file(argv[3]);
    full = read_file(argv[4]);
    parse_hex(argv[5], old_sha256);
    CHECK(sizeof(mallorn_updater_t) == MALLORN_UPDATER_SIZE);
    CHECK(sizeof(mallorn_session_t) == MALLORN_SESSION_SIZE);
    CHECK(old_model.len <= sizeof slot_copy && new_model.len <= sizeof slot_copy);
    {
        uint8_t sha[32];
        CHECK_STATUS(mallorn_sha256(new_model.bytes, new_model.len, &sha), MALLORN_OK);
        CHECK(memcmp(sha, new_sha256, 32) == 0);
        CHECK_STATUS(mallorn_sha256(NULL, 1, &sha), MALLORN_ERR_NULL_POINTER);
    }
    test_fragment_sizes();
    test_session_holds_the_updater();
    test_callbacks_calling_back();
    test_refusals();
    test_header_tamper_and_small_buffer();
    test_power_cuts();
    test_transient_faults();
    printf("c_api: %ld checks passed\n", checks);
    free(old_model.bytes);
    free(new_model.bytes);
    free(delta.bytes);
    free(full.bytes);
    return 0;
}
