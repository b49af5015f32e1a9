//! The quality gate: the model's evaluation command, run on the release file and the shipped
//! image, must print a score of at least the threshold.

use std::path::Path;
use std::process::Command;

use mallorn_manifest::QualityGate;

/// Why a gate did not pass.
#[derive(Debug, thiserror::Error)]
pub enum GateError {
    /// The command could not be started.
    #[error("could not run the evaluation command `{program}`: {source}")]
    Spawn {
        /// The program.
        program: String,
        /// Why.
        source: std::io::Error,
    },
    /// The command failed.
    #[error("the evaluation command `{program}` failed ({status}); its stderr ends: {stderr}")]
    Failed {
        /// The program.
        program: String,
        /// Its exit status.
        status: std::process::ExitStatus,
        /// The last lines of its standard error.
        stderr: String,
    },
    /// The command printed no number.
    #[error("the evaluation command `{program}` printed `{stdout}`, not one number")]
    NoScore {
        /// The program.
        program: String,
        /// What it printed (trimmed).
        stdout: String,
    },
    /// The score is under the threshold.
    #[error("the shipped image scores {score}, under the gate's threshold {threshold}")]
    BelowThreshold {
        /// The score.
        score: f64,
        /// The threshold.
        threshold: f64,
    },
}

/// Runs `gate` in `dir` with `release` and `shipped` appended; returns the score when it is
/// at least the threshold.
pub fn run_gate(
    gate: &QualityGate,
    dir: &Path,
    release: &Path,
    shipped: &Path,
) -> Result<f64, GateError> {
    let program = gate.command[0].clone();
    let output = Command::new(&program)
        .args(&gate.command[1..])
        .arg(release)
        .arg(shipped)
        .current_dir(dir)
        .output()
        .map_err(|source| GateError::Spawn {
            program: program.clone(),
            source,
        })?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        let tail: Vec<&str> = stderr.lines().rev().take(3).collect();
        return Err(GateError::Failed {
            program,
            status: output.status,
            stderr: tail.into_iter().rev().collect::<Vec<_>>().join(" | "),
        });
    }
    let stdout = String::from_utf8_lossy(&output.stdout).trim().to_owned();
    let score = match stdout.parse::<f64>() {
        Ok(score) if score.is_finite() => score,
        _ => return Err(GateError::NoScore { program, stdout }),
    };
    if score < gate.threshold {
        return Err(GateError::BelowThreshold {
            score,
            threshold: gate.threshold,
        });
    }
    Ok(score)
}
