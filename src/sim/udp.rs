//! Simulated meters over UDP (IEC 62056-47): one socket per meter, one WRAPPER PDU per
//! datagram. Each client (by its address and port) gets its own link and association, served
//! by the same code as a TCP connection; it ends after the inactivity timeout, and the next
//! datagram from that client starts afresh, as a meter's UDP association does.

use super::{port_of, serve_connection, MeterLife, SimConfig};
use crate::transport::udp::{UdpPeer, MAX_DATAGRAM};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::net::UdpSocket;
use tokio::sync::mpsc;

/// Datagrams a client may have waiting before the meter drops more (it answers one at a time).
const QUEUED: usize = 16;

/// Binds one UDP socket per meter, on the ports `bind` would listen on.
pub async fn bind_udp(config: &SimConfig) -> std::io::Result<Vec<UdpSocket>> {
    let mut out = Vec::with_capacity(config.meters as usize);
    for i in 0..config.meters {
        let port = port_of(config, i)?;
        let s = UdpSocket::bind((config.host.as_str(), port))
            .await
            .map_err(|e| {
                std::io::Error::new(
                    e.kind(),
                    format!("cannot bind UDP {}:{port}: {e}", config.host),
                )
            })?;
        out.push(s);
    }
    Ok(out)
}

/// Serves bound sockets until the task is dropped; meter `i` answers on socket `i`.
pub async fn serve_udp(config: SimConfig, sockets: Vec<UdpSocket>) {
    let mut tasks = tokio::task::JoinSet::new();
    for (i, socket) in sockets.into_iter().enumerate() {
        let config = config.clone();
        tasks.spawn(serve_meter(config, Arc::new(socket), i as u32));
    }
    while tasks.join_next().await.is_some() {}
}

/// One meter's socket: datagrams are handed to the session of the client that sent them.
async fn serve_meter(config: SimConfig, socket: Arc<UdpSocket>, index: u32) {
    // The meter's counters and state live as long as the meter, across clients.
    let life = MeterLife::default();
    let mut clients: HashMap<SocketAddr, mpsc::Sender<Vec<u8>>> = HashMap::new();
    let mut buf = vec![0u8; MAX_DATAGRAM];
    loop {
        let (n, from) = match socket.recv_from(&mut buf).await {
            Ok(r) => r,
            // An ICMP error from an earlier answer (a client gone) is not the meter's problem.
            Err(e) => {
                tracing::debug!("simulated meter {index}: UDP receive: {e}");
                continue;
            }
        };
        let datagram = buf[..n].to_vec();
        let sender = match clients.get(&from) {
            Some(s) if !s.is_closed() => s.clone(),
            _ => {
                clients.retain(|_, s| !s.is_closed());
                let (tx, rx) = mpsc::channel(QUEUED);
                let peer = UdpPeer::new(socket.clone(), from, rx);
                let (config, life) = (config.clone(), life.clone());
                tokio::spawn(async move {
                    match serve_connection(peer, &config, index, life).await {
                        Ok(ended) => {
                            tracing::debug!("simulated meter {index}: UDP client {from}: {ended:?}")
                        }
                        Err(e) => {
                            tracing::debug!("simulated meter {index}: UDP client {from}: {e}")
                        }
                    }
                });
                clients.insert(from, tx.clone());
                tx
            }
        };
        // A client that floods the meter loses datagrams, as over a real network.
        if sender.try_send(datagram).is_err() {
            tracing::debug!("simulated meter {index}: dropped a datagram from {from}");
        }
    }
}
