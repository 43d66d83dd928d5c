//! The keys and HAN preset for decoding what meters push, as `decode` and `listen` take them.

use anyhow::{anyhow, Context, Result};
use dlms_logger::dlms::decode::Keys;
use dlms_logger::dlms::security::{Key, SystemTitle};
use dlms_logger::queue::han::{self, HanPreset};

/// `--block-key`, `--auth-key`, `--dedicated-key`, `--system-title`, `--preset`.
#[derive(clap::Args, Debug)]
pub struct PushKeyArgs {
    /// The global unicast (block) key, 32 hex digits (or env DLMS_BLOCK_KEY).
    #[arg(
        long,
        value_name = "HEX",
        env = "DLMS_BLOCK_KEY",
        hide_env_values = true
    )]
    pub block_key: Option<String>,
    /// The authentication key, 32 hex digits (or env DLMS_AUTH_KEY): checks the tag; without
    /// it a ciphered APDU is deciphered with the block key alone and marked not verified.
    #[arg(
        long,
        value_name = "HEX",
        env = "DLMS_AUTH_KEY",
        hide_env_values = true
    )]
    pub auth_key: Option<String>,
    /// The dedicated key, for ded- and general-ded-ciphering (or env DLMS_DEDICATED_KEY).
    #[arg(
        long,
        value_name = "HEX",
        env = "DLMS_DEDICATED_KEY",
        hide_env_values = true
    )]
    pub dedicated_key: Option<String>,
    /// The meter's system title (16 hex digits), for glo-/ded- APDUs that carry none.
    #[arg(long, value_name = "HEX")]
    pub system_title: Option<String>,
    /// A HAN list preset (built in: aidon-no, aidon-se, kaifa-no, kaifa-se, kamstrup-no,
    /// evn-at, vse-ch, iskra-si; or a TOML file): names, units, and OBIS codes for positional lists.
    #[arg(long, value_name = "NAME|FILE")]
    pub preset: Option<String>,
}

impl PushKeyArgs {
    /// The keys given; an error names the flag and never repeats the key.
    pub fn keys(&self) -> Result<Keys> {
        Ok(Keys {
            block_key: key(self.block_key.as_deref(), "--block-key")?,
            auth_key: key(self.auth_key.as_deref(), "--auth-key")?,
            dedicated_key: key(self.dedicated_key.as_deref(), "--dedicated-key")?,
            system_title: self
                .system_title
                .as_deref()
                .map(str::parse::<SystemTitle>)
                .transpose()
                .context("--system-title")?,
        })
    }

    /// The preset given, loaded.
    pub fn preset(&self) -> Result<Option<HanPreset>> {
        Ok(self.preset.as_deref().map(han::load).transpose()?)
    }
}

fn key(text: Option<&str>, flag: &str) -> Result<Option<Key>> {
    // The key's own error never repeats the text, so a typo does not print the secret.
    text.map(|t| t.parse::<Key>().map_err(|e| anyhow!("{flag}: {e}")))
        .transpose()
}
