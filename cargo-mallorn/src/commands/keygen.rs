//! `cargo mallorn keygen -o FILE`: creates an Ed25519 signing key pair. The private key goes
//! to FILE (PKCS#8 PEM, mode 0600, never overwriting anything), the public key to FILE.pub
//! (SPKI PEM). Stdout gets the public key and its key id, never the private key.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use mallorn_engine::signing::{KeyError, SigningKey, hex, write_key_pair};

use super::{CommandResult, failure};
use crate::cli::{GlobalArgs, MessageFormat};

/// Arguments of `cargo mallorn keygen`.
#[derive(Debug, clap::Args)]
pub struct KeygenArgs {
    /// Private key file to create (mode 0600; an existing file is never overwritten). The
    /// public key is written next to it as FILE.pub.
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    pub output: PathBuf,
}

/// Generates and writes the key pair, then prints the public half.
pub fn run(global: &GlobalArgs, args: &KeygenArgs) -> CommandResult {
    // `keygen -o keys/release.key` right after `init`: the folder may not exist yet.
    if let Some(folder) = args.output.parent().filter(|f| !f.as_os_str().is_empty())
        && let Err(source) = std::fs::create_dir_all(folder)
    {
        return Err(failure(
            format!("cannot create the folder {}: {source}", folder.display()),
            None,
        ));
    }
    let written = SigningKey::generate().and_then(|key| {
        let public_path = write_key_pair(&args.output, &key)?;
        Ok((key.public_key(), public_path))
    });
    let (public, public_path) = match written {
        Ok(written) => written,
        Err(err) => {
            let help = matches!(err, KeyError::AlreadyExists { .. }).then(|| {
                "keygen never replaces a key file: pick a new name with -o, or move the old \
                 files away if you really mean to retire that key"
                    .to_owned()
            });
            return Err(failure(err.to_string(), help));
        }
    };
    let key_id = hex(&public.key_id());
    let public_hex = hex(&public.to_bytes());
    let pem = public.to_spki_pem();
    match global.message_format {
        MessageFormat::Human => {
            outln!("key id      {key_id}");
            outln!("public key  {public_hex}");
            out!("{pem}");
        }
        MessageFormat::Json => {
            #[derive(serde::Serialize)]
            struct KeyPair<'a> {
                key_id: &'a str,
                public_key: &'a str,
                public_key_pem: &'a str,
                private_key_file: &'a Path,
                public_key_file: &'a Path,
            }
            let json = crate::output::json_line(&KeyPair {
                key_id: &key_id,
                public_key: &public_hex,
                public_key_pem: &pem,
                private_key_file: &args.output,
                public_key_file: &public_path,
            });
            outln!("{json}");
        }
    }
    diagln!(
        "wrote {} (private key, mode 0600: keep it secret) and {} (public key)",
        args.output.display(),
        public_path.display()
    );
    Ok(ExitCode::SUCCESS)
}
