//! Rules for `[[target]]`: SKU, RAM buffer, flash geometry, slot layout and model fit.

use std::collections::{HashMap, HashSet};

use crate::diagnostic::{Diagnostic, Diagnostics, Span};
use crate::located::Located;
use crate::model::{
    BootSettings, CodecMode, CodecPolicy, Decoder, FlashGeometry, Model, ModelSlots, Region,
    RegionKind, Target,
};
use crate::names::is_valid_sku;
use crate::raw::{Entries, RawFlash, RawRegion, RawTarget, RawTargetLayout, RawTargetModel};
use crate::size::{ByteSize, format_size};
use crate::suggest::closest;
use crate::validate::{MIN_RAM_BUFFER, codec};
use mallorn_runtime::storage::journal::record::RECORD_RAW_LEN as RECORD_LEN;
use mallorn_runtime::storage::layout::{MAX_WRITE_SIZE, check_geometry};
use mallorn_runtime::storage::{LayoutError, RegionName, min_state_len};

/// Validates every target against the (already validated) models.
pub(super) fn targets(
    raw: &[RawTarget],
    unreadable_layouts: &[RawTargetLayout],
    models: &[Model],
    unreadable_models: &[String],
    global_codec: &CodecPolicy,
    out: &mut Diagnostics,
) -> Vec<Target> {
    let mut first_use: HashMap<&str, Span> = HashMap::new();
    let models: HashMap<&str, &Model> = models.iter().map(|m| (m.name.as_str(), m)).collect();
    let unreadable: HashSet<&str> = unreadable_models.iter().map(String::as_str).collect();
    let mut targets = Vec::new();
    for target in raw {
        let sku = &target.sku;
        if !is_valid_sku(&sku.value) {
            out.push(
                Diagnostic::error(
                    "invalid-name",
                    sku.span,
                    format!("SKU `{}` is not allowed", sku.value),
                )
                .with_hint("use letters, digits, `.`, `-` and `_` (it becomes part of file names)"),
            );
        }
        if let Some(first) = first_use.get(sku.value.as_str()) {
            out.push(
                Diagnostic::error(
                    "duplicate-name",
                    sku.span,
                    format!("target `{}` is defined twice", sku.value),
                )
                .with_label("second definition")
                .with_related(*first, "first defined here")
                .with_hint("give each target a unique `sku`"),
            );
        } else {
            first_use.insert(&sku.value, sku.span);
        }
        let ram = &target.ram_buffer;
        if ram.value.0 < MIN_RAM_BUFFER {
            out.push(
                Diagnostic::error(
                    "ram-buffer-too-small",
                    ram.span,
                    format!(
                        "ram-buffer of {} is below the minimum of {}",
                        format_size(ram.value.0),
                        format_size(MIN_RAM_BUFFER)
                    ),
                )
                .with_label("too small")
                .with_hint(format!(
                    "give it at least {}: \"stored\", the decoder needing the least work \
                     buffer, needs that much",
                    format_size(MIN_RAM_BUFFER)
                )),
            );
        }
        let flash = flash(&target.flash, out);
        let slots = layouts(
            &sku.value,
            target.models.as_ref(),
            flash.as_ref(),
            &models,
            &unreadable,
            out,
        );
        let codec = codec::policy(global_codec, target.codec.as_ref(), out);
        if ram.value.0 >= MIN_RAM_BUFFER {
            decoder_fits(&sku.value, ram, &codec, out);
        }
        lossless_only(&sku.value, &slots, &codec, &models, out);
        let boot = boot_settings(target, out);
        if let Some(flash) = flash {
            targets.push(Target {
                sku: sku.value.clone(),
                ram_buffer: ram.value.0,
                flash,
                models: slots,
                codec,
                boot,
                span: sku.span,
            });
        }
    }
    for layout in unreadable_layouts {
        let flash = flash(&layout.flash, out);
        let sku = &layout.sku.value;
        layouts(
            sku,
            layout.models.as_ref(),
            flash.as_ref(),
            &models,
            &unreadable,
            out,
        );
    }
    targets
}

/// `trial-boots` (1..=255) and `verify-trial-boot`, with their defaults.
fn boot_settings(target: &RawTarget, out: &mut Diagnostics) -> BootSettings {
    let mut boot = BootSettings::default();
    if let Some(trial_boots) = &target.trial_boots {
        match u8::try_from(trial_boots.value) {
            Ok(n) if n >= 1 => boot.trial_boots = n,
            _ => out.push(
                Diagnostic::error(
                    "trial-boots-out-of-range",
                    trial_boots.span,
                    format!("trial-boots = {} is outside 1..=255", trial_boots.value),
                )
                .with_label("out of range")
                .with_hint("give the new model 1 to 255 boots to be confirmed in (default 3)"),
            ),
        }
    }
    if let Some(verify) = &target.verify_trial_boot {
        boot.verify_trial_boot = verify.value;
    }
    boot
}

/// At least one allowed decoder must fit `ram-buffer` (the build picks the best that does).
fn decoder_fits(sku: &str, ram: &Located<ByteSize>, codec: &CodecPolicy, out: &mut Diagnostics) {
    if codec
        .decoders
        .iter()
        .any(|&d| d.least_work_len() <= ram.value.0)
    {
        return;
    }
    let needs: Vec<String> = codec
        .decoders
        .iter()
        .map(|&d| format!("{} needs {}", d.as_str(), format_size(d.least_work_len())))
        .collect();
    let least = codec.decoders.iter().map(|d| d.least_work_len()).min();
    let mut hint = match least {
        Some(least) => format!("raise `ram-buffer` to at least {}", format_size(least)),
        None => "raise `ram-buffer`".to_owned(),
    };
    let stored = Decoder::Stored.least_work_len();
    if !codec.decoders.contains(&Decoder::Stored) && stored <= ram.value.0 {
        hint.push_str(&format!(
            ", or allow \"stored\" in `[target.codec] decoders` (it needs {}, which fits)",
            format_size(stored)
        ));
    }
    out.push(
        Diagnostic::error(
            "no-decoder-fits",
            ram.span,
            format!(
                "target `{sku}`: ram-buffer of {} fits none of the allowed decoders ({})",
                format_size(ram.value.0),
                needs.join(", ")
            ),
        )
        .with_label("too small for every allowed decoder")
        .with_hint(hint),
    );
}

/// Checks the flash geometry; `None` when region checks would be meaningless.
fn flash(raw: &Located<RawFlash>, out: &mut Diagnostics) -> Option<FlashGeometry> {
    let raw = &raw.value;
    let mut valid = true;
    let erase = &raw.erase_size;
    if !erase.value.0.is_power_of_two() {
        out.push(
            Diagnostic::error(
                "invalid-geometry",
                erase.span,
                format!("erase-size {} is not a power of two", erase.value.0),
            )
            .with_hint("use the sector size from the flash datasheet, e.g. \"4KiB\""),
        );
        valid = false;
    }
    let write = &raw.write_size;
    if !write.value.0.is_power_of_two() {
        out.push(
            Diagnostic::error(
                "invalid-geometry",
                write.span,
                format!("write-size {} is not a power of two", write.value.0),
            )
            .with_hint("use the program unit from the flash datasheet, e.g. 4 or 256"),
        );
        valid = false;
    } else if valid && write.value.0 > erase.value.0 {
        out.push(
            Diagnostic::error(
                "invalid-geometry",
                write.span,
                format!(
                    "write-size {} does not divide erase-size {}",
                    write.value, erase.value
                ),
            )
            .with_hint("the program unit must divide the erase block"),
        );
        valid = false;
    }
    if erase.value.0.is_power_of_two() && !(64..=1 << 30).contains(&erase.value.0) {
        out.push(
            Diagnostic::error(
                "invalid-geometry",
                erase.span,
                format!(
                    "erase-size {} is outside the 64 B to 1 GiB the runtime supports",
                    erase.value
                ),
            )
            .with_hint("bundles are chunked on erase blocks of 64 B to 1 GiB"),
        );
        valid = false;
    }
    let size = &raw.size;
    if size.value.0 > u64::from(u32::MAX) {
        out.push(
            Diagnostic::error(
                "invalid-geometry",
                size.span,
                format!(
                    "flash size {} is larger than the runtime's 32-bit offsets can address",
                    size.value
                ),
            )
            .with_hint("the runtime addresses at most 4 GiB of flash"),
        );
        valid = false;
    }
    if size.value.0 == 0 {
        out.push(
            Diagnostic::error("invalid-geometry", size.span, "flash size is zero")
                .with_hint("give the flash size, e.g. \"8MiB\""),
        );
        valid = false;
    } else if erase.value.0.is_power_of_two() && size.value.0 % erase.value.0 != 0 {
        out.push(
            Diagnostic::error(
                "invalid-geometry",
                size.span,
                format!(
                    "flash size {} is not a multiple of erase-size {}",
                    size.value, erase.value
                ),
            )
            .with_hint(
                "flash is made of whole erase blocks; check both values against the datasheet",
            ),
        );
        valid = false;
    }
    if raw.base.value.0.checked_add(size.value.0).is_none() {
        out.push(
            Diagnostic::error(
                "invalid-geometry",
                raw.base.span,
                "flash base + size does not fit in 64 bits",
            )
            .with_hint("`base` is the address of the first byte of flash, e.g. 0x0800_0000"),
        );
        valid = false;
    }
    // The device's own geometry rule (generated firmware reads byte by byte: read size 1).
    if valid && check_geometry(erase.value.0 as usize, write.value.0 as usize, 1).is_err() {
        out.push(
            Diagnostic::error(
                "invalid-geometry",
                write.span,
                format!(
                    "write-size {} is larger than the {MAX_WRITE_SIZE} B program unit the runtime buffers",
                    write.value
                ),
            )
            .with_hint(format!(
                "give the device's program unit (a page program of up to {MAX_WRITE_SIZE} B); smaller units work with any NOR flash"
            )),
        );
        valid = false;
    }
    valid.then_some(FlashGeometry {
        base: raw.base.value.0,
        size: size.value.0,
        erase_size: erase.value.0,
        write_size: write.value.0,
    })
}

/// A region with its name and where it is written, for overlap reports.
struct PlacedRegion {
    name: String,
    region: Region,
    span: Span,
}

/// A target whose codec policy says `mode = "lossless"` must not carry a lossy model.
fn lossless_only(
    sku: &str,
    slots: &[ModelSlots],
    codec: &CodecPolicy,
    models: &HashMap<&str, &Model>,
    out: &mut Diagnostics,
) {
    if codec.mode != CodecMode::Lossless {
        return;
    }
    for slot in slots {
        if models
            .get(slot.model.as_str())
            .is_some_and(|m| m.lossy.is_some())
        {
            out.push(
                Diagnostic::error(
                    "lossy-on-lossless-target",
                    slot.span,
                    format!(
                        "target `{sku}` takes only lossless releases (`mode = \"lossless\"`) but carries lossy model `{}`",
                        slot.model
                    ),
                )
                .with_label("declares `[model.lossy]`")
                .with_hint("remove `mode = \"lossless\"` from `[codec]`/`[target.codec]` to ship this model's lossy releases here, or remove its `[model.lossy]`"),
            );
        }
    }
}

/// Checks the slot layout of every model the target carries, then overlaps across them all.
fn layouts(
    sku: &str,
    entries: Option<&Located<Entries<Located<RawTargetModel>>>>,
    flash: Option<&FlashGeometry>,
    models: &HashMap<&str, &Model>,
    unreadable_models: &HashSet<&str>,
    out: &mut Diagnostics,
) -> Vec<ModelSlots> {
    let Some(entries) = entries else {
        return Vec::new();
    };
    let mut placed: Vec<PlacedRegion> = Vec::new();
    let mut layouts = Vec::new();
    for (name, layout) in &entries.value.0 {
        let model = models.get(name.value.as_str()).copied();
        if model.is_none() && !unreadable_models.contains(name.value.as_str()) {
            let mut names: Vec<&str> = models.keys().copied().collect();
            names.sort_unstable();
            let hint = match closest(&name.value, names) {
                Some(best) => format!("did you mean `{best}`?"),
                None => "define it with a `[[model]]` section, or remove this table".to_owned(),
            };
            out.push(
                Diagnostic::error(
                    "unknown-model",
                    name.span,
                    format!(
                        "target `{}` carries model `{}`, which is not defined",
                        sku, name.value
                    ),
                )
                .with_label("no such model")
                .with_hint(hint),
            );
        }
        let slots = ModelSlots {
            model: name.value.clone(),
            slot_a: region(&layout.value.slot_a),
            slot_b: region(&layout.value.slot_b),
            state: region(&layout.value.state),
            span: name.span,
        };
        if let Some(flash) = flash {
            for (kind, raw_region) in raw_regions(&layout.value) {
                let where_ = format!("{}.{}", name.value, kind);
                if region_fits_flash(&where_, kind, raw_region, flash, out) {
                    placed.push(PlacedRegion {
                        name: where_,
                        region: region(raw_region),
                        span: raw_region.span,
                    });
                }
            }
            state_size(&name.value, &layout.value.state, flash, out);
        }
        if let Some(model) = model {
            releases_fit(model, sku, &layout.value, out);
        }
        layouts.push(slots);
    }
    overlaps(&placed, out);
    layouts
}

fn raw_regions(layout: &RawTargetModel) -> [(RegionKind, &Located<RawRegion>); 3] {
    [
        (RegionKind::SlotA, &layout.slot_a),
        (RegionKind::SlotB, &layout.slot_b),
        (RegionKind::State, &layout.state),
    ]
}

fn region(raw: &Located<RawRegion>) -> Region {
    Region {
        offset: raw.value.offset.value.0,
        size: raw.value.size.value.0,
    }
}

/// Non-empty, erase-aligned, inside flash: the runtime's placement rule
/// (`Region::check_placement`, which the device runs in `FlashLayout::validate`), asked once
/// for alignment and once for bounds so both problems are reported together. Returns true
/// when the region can be placed.
fn region_fits_flash(
    name: &str,
    kind: RegionKind,
    raw: &Located<RawRegion>,
    flash: &FlashGeometry,
    out: &mut Diagnostics,
) -> bool {
    let region = region(raw);
    let device_name = match kind {
        RegionKind::SlotA => RegionName::SlotA,
        RegionKind::SlotB => RegionName::SlotB,
        RegionKind::State => RegionName::State,
    };
    let (erase, capacity) = (flash.erase_size as usize, flash.size as usize);
    let (aligned, inside) = match region.to_device() {
        Some(device) => (
            device.check_placement(device_name, erase, u32::MAX as usize + 1),
            device.check_placement(device_name, 1, capacity),
        ),
        None => (
            Ok(()),
            Err(LayoutError::OutOfFlash {
                region: device_name,
            }),
        ),
    };
    if region.size == 0 {
        out.push(
            Diagnostic::error(
                "empty-region",
                raw.value.size.span,
                format!("`{name}` has size zero"),
            )
            .with_hint(format!(
                "give it at least one erase block ({})",
                format_size(flash.erase_size)
            )),
        );
        return false;
    }
    if aligned.is_err() {
        misaligned(name, raw, flash.erase_size, out);
    }
    if inside.is_err() {
        outside_flash(name, raw, flash, out);
    }
    aligned.is_ok() && inside.is_ok()
}

/// Reports which of a region's offset and size is not a multiple of the erase size.
fn misaligned(name: &str, raw: &Located<RawRegion>, erase: u64, out: &mut Diagnostics) {
    let (offset, size) = (&raw.value.offset, &raw.value.size);
    if offset.value.0 % erase != 0 {
        let below = offset.value.0 - offset.value.0 % erase;
        out.push(
            Diagnostic::error(
                "misaligned-region",
                offset.span,
                format!(
                    "`{name}` offset {:#x} is not a multiple of erase-size {}",
                    offset.value.0,
                    format_size(erase)
                ),
            )
            .with_label("not erase-aligned")
            .with_hint(format!(
                "regions are erased block by block: use {below:#x} or {:#x}",
                below.saturating_add(erase)
            )),
        );
    }
    if size.value.0 % erase != 0 {
        let rounded = size.value.0.div_ceil(erase).saturating_mul(erase);
        out.push(
            Diagnostic::error(
                "misaligned-region",
                size.span,
                format!(
                    "`{name}` size {} is not a multiple of erase-size {}",
                    format_size(size.value.0),
                    format_size(erase)
                ),
            )
            .with_label("not erase-aligned")
            .with_hint(format!("round it up to {}", format_size(rounded))),
        );
    }
}

fn outside_flash(
    name: &str,
    raw: &Located<RawRegion>,
    flash: &FlashGeometry,
    out: &mut Diagnostics,
) {
    let end = region(raw).end().map_or_else(
        || "past 2^64".to_owned(),
        |end| format!("at offset {end:#x}"),
    );
    out.push(
        Diagnostic::error(
            "region-outside-flash",
            raw.span,
            format!(
                "`{name}` ends {end}, beyond the end of flash ({:#x}, {})",
                flash.size,
                format_size(flash.size)
            ),
        )
        .with_label("outside flash")
        .with_hint(
            "offsets count from `flash.base`; move or shrink the region, or check `flash.size`",
        ),
    );
}

/// The journal needs two banks of whole erase blocks, each holding at least one record: the
/// runtime's `min_state_len`, the bound `FlashLayout::validate` checks on the device.
fn state_size(
    model: &str,
    state: &Located<RawRegion>,
    flash: &FlashGeometry,
    out: &mut Diagnostics,
) {
    let size = &state.value.size;
    let Some(minimum) = min_state_len(flash.erase_size as usize, flash.write_size as usize) else {
        return; // the geometry is reported by `flash`
    };
    if size.value.0 != 0 && size.value.0 < minimum {
        out.push(
            Diagnostic::error(
                "state-too-small",
                size.span,
                format!(
                    "`{model}.state` is {}, smaller than the {} of two journal banks",
                    format_size(size.value.0),
                    format_size(minimum)
                ),
            )
            .with_label("too small")
            .with_hint(format!(
                "the update journal alternates between two banks (each whole erase blocks holding at least one {RECORD_LEN}-byte record) so a power cut never loses it; make it at least \"{}\"",
                format_size(minimum).replace(' ', "")
            )),
        );
    }
}

/// Every release of `model` must fit both slots.
fn releases_fit(model: &Model, sku: &str, layout: &RawTargetModel, out: &mut Diagnostics) {
    for release in &model.releases {
        for (kind, slot) in [
            (RegionKind::SlotA, &layout.slot_a),
            (RegionKind::SlotB, &layout.slot_b),
        ] {
            let capacity = slot.value.size.value.0;
            if release.size > capacity {
                out.push(
                    Diagnostic::error(
                        "release-too-large",
                        release.span,
                        format!(
                            "release {} of `{}` ({}) does not fit {kind} of target `{sku}` ({})",
                            release.version,
                            model.name,
                            format_size(release.size),
                            format_size(capacity)
                        ),
                    )
                    .with_label("too large")
                    .with_related(slot.span, format!("{kind} of `{sku}`"))
                    .with_hint(format!(
                        "grow {kind} to at least {} (rounded up to the erase size)",
                        format_size(release.size)
                    )),
                );
            }
        }
    }
}

/// No two regions of one target may share a byte.
///
/// A sweep in offset order (O(n log n), even for a hostile file with many regions): each region
/// that starts before the furthest end seen so far overlaps the region reaching that end. The
/// report points at whichever of the two is written later in the file.
fn overlaps(placed: &[PlacedRegion], out: &mut Diagnostics) {
    let mut order: Vec<&PlacedRegion> = placed.iter().collect();
    order.sort_by_key(|placed| (placed.region.offset, placed.span.start));
    let mut furthest: Option<&PlacedRegion> = None;
    for current in order {
        let current_end = current.region.end().unwrap_or(u64::MAX);
        match furthest {
            Some(reach) if current.region.overlaps(&reach.region) => {
                let (later, earlier) = if current.span.start > reach.span.start {
                    (current, reach)
                } else {
                    (reach, current)
                };
                out.push(overlap(later, earlier));
                if current_end > reach.region.end().unwrap_or(u64::MAX) {
                    furthest = Some(current);
                }
            }
            _ => furthest = Some(current),
        }
    }
}

fn overlap(later: &PlacedRegion, earlier: &PlacedRegion) -> Diagnostic {
    let range = |r: &Region| format!("{:#x}..{:#x}", r.offset, r.end().unwrap_or(u64::MAX));
    Diagnostic::error(
        "region-overlap",
        later.span,
        format!(
            "`{}` ({}) overlaps `{}` ({})",
            later.name,
            range(&later.region),
            earlier.name,
            range(&earlier.region)
        ),
    )
    .with_label("overlaps")
    .with_related(earlier.span, format!("`{}`", earlier.name))
    .with_hint(format!(
        "regions of one target must not share flash: start `{}` at {:#x} or later",
        later.name,
        earlier.region.end().unwrap_or(u64::MAX),
    ))
}
