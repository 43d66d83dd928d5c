//! Command implementations of the binary.
pub mod change;
pub mod connection;
pub mod decode;
pub mod export;
pub mod file_limit;
pub mod journal;
pub mod lazy;
pub mod listen;
pub mod objects;
pub mod probe;
pub mod push_keys;
pub mod read;
pub mod run;
pub mod schedule;
pub mod shortcuts;
pub mod simulate;
pub mod status;
pub mod store;
pub mod tui;

/// `--port` of a meter to connect to: 1 to 65535, said in words when out of range.
pub fn meter_port(text: &str) -> Result<u16, String> {
    port_in(text, 1, "use 1 to 65535")
}

/// `--port` to listen on: 0 (any free port) to 65535.
pub fn listen_port(text: &str) -> Result<u16, String> {
    port_in(text, 0, "use 0 (any free port) to 65535")
}

fn port_in(text: &str, low: u16, allowed: &str) -> Result<u16, String> {
    match text.trim().parse::<i64>() {
        Ok(n) => u16::try_from(n)
            .ok()
            .filter(|p| *p >= low)
            .ok_or_else(|| format!("port {n} is not possible; {allowed}")),
        Err(_) => Err(format!("{text:?} is not a port number; {allowed}")),
    }
}
