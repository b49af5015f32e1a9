//! `SimFlash` has its geometry in const generics; a SKU's geometry comes from Mallorn.toml at
//! run time. One table maps the supported (write size, erase size) pairs to monomorphised
//! runs: each pair instantiates the whole updater, so the table is kept to common parts.

/// Something to run on a flash of a given geometry (read size 1).
pub(crate) trait OnGeometry {
    /// What the run returns.
    type Out;
    /// Runs on `SimFlash<W, E, 1>`.
    fn run<const W: usize, const E: usize>(self) -> Self::Out;
}

macro_rules! geometry_table {
    ($(($w:literal, $e:literal)),* $(,)?) => {
        /// The (write size, erase size) pairs the simulator supports.
        pub const SUPPORTED: &[(usize, usize)] = &[$(($w, $e)),*];

        /// Runs `job` on the geometry, or returns it when the geometry is not in the table.
        pub(crate) fn with_geometry<V: OnGeometry>(write: usize, erase: usize, job: V) -> Result<V::Out, V> {
            match (write, erase) {
                $(($w, $e) => Ok(job.run::<$w, $e>()),)*
                _ => Err(job),
            }
        }
    };
}

// Write units of NOR parts: 1 (SPI NOR), 4 and 8 (MCU internal flash, 8 with ECC), 16 and
// 32 (parts with wide ECC words). Erase units: 4 KiB sectors, 64 KiB blocks and the 2 KiB
// and 128 KiB pages of MCU internal flash.
geometry_table!(
    (1, 4096),
    (4, 4096),
    (8, 4096),
    (16, 4096),
    (32, 4096),
    (8, 2048),
    (16, 8192),
    (1, 65536),
    (32, 131072),
);

/// The supported pairs as text, for errors.
pub fn supported_list() -> String {
    SUPPORTED
        .iter()
        .map(|(w, e)| format!("write {w} / erase {}", crate::simulate::human_size(*e)))
        .collect::<Vec<_>>()
        .join(", ")
}
