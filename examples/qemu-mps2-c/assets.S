/* The vector table, and what the firmware carries: the model the factory programs into
 * slot A and the signed bundle (paths from the Makefile: OLD_MODEL, BUNDLE). */
    .syntax unified

    .section .vectors, "a"
    .word stack_top
    .word reset_handler
    .rept 14
    .word fault_handler
    .endr

    .section .assets, "a"
    .balign 4
    .global old_model, old_model_end, bundle, bundle_end
old_model:
    .incbin OLD_MODEL
old_model_end:
    .balign 4
bundle:
    .incbin BUNDLE
bundle_end:
