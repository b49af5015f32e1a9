//! Who may update this device: the runtime's admission checks (signature by a trusted key,
//! SKU, model, anti-rollback counter, then the base in the active slot) over the facts the
//! generated include provides.

use mallorn_runtime::Error;
use mallorn_runtime::format::{BundleHeader, HEADER_LEN, SIGNATURE_LEN};
use mallorn_runtime::image::BaseImage;
use mallorn_runtime::storage::Admit;
use mallorn_runtime::verify::{DeviceContext, admit, check_base};

/// Bytes of the active slot hashed per read during the base check.
const SCRATCH_LEN: usize = 256;

/// Admission for one model slot pair of this device.
pub struct DeviceAdmission {
    context: DeviceContext<'static>,
    scratch: [u8; SCRATCH_LEN],
}

impl DeviceAdmission {
    /// Admission with the generated facts of one model, e.g.
    /// `DeviceAdmission::new(sku::wakeword_m4_1mb::okay_nabu::device_context(0))` (the
    /// counter in the context is replaced by the journal's committed counter on each check).
    pub const fn new(context: DeviceContext<'static>) -> Self {
        Self {
            context,
            scratch: [0; SCRATCH_LEN],
        }
    }
}

impl Admit for DeviceAdmission {
    fn admit(
        &mut self,
        header: &[u8; HEADER_LEN],
        signature: &[u8; SIGNATURE_LEN],
        committed_counter: u64,
    ) -> Result<BundleHeader, Error> {
        let device = DeviceContext {
            committed_counter,
            ..self.context
        };
        admit(header, signature, &device)
    }

    fn check_base<B: BaseImage>(
        &mut self,
        header: &BundleHeader,
        base: &mut B,
    ) -> Result<(), Error> {
        check_base(header, base, &mut self.scratch)
    }
}
