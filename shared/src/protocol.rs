//! The wire protocol between the server and the dashboard: every message either side can
//! send over the `/ws` websocket, and the one place that turns them into frames and back.
//!
//! Both ends go through [`encode`] and [`decode`] only, so changing the encoding (JSON text
//! today, a binary format later) is a change to those two functions and nothing else.

use serde::{de::DeserializeOwned, Deserialize, Serialize};

/// What the server tells a viewer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerMsg {
    /// First message on every connection.
    Hello(Hello),
    /// Answer to [`ClientMsg::Ping`], carrying the same nonce.
    Pong { nonce: u32 },
    /// Something the viewer sent could not be used; the connection stays open.
    Error(ErrorMsg),
}

/// Who the viewer is talking to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hello {
    /// The server crate's version (`CARGO_PKG_VERSION`).
    pub version: String,
    /// Logical cores of the machine the experiments run on.
    pub cores: u32,
}

/// A problem with a message the viewer sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorMsg {
    /// Human-readable, names the problem.
    pub message: String,
    /// The offending field, when there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

/// What a viewer asks of the server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ClientMsg {
    /// Liveness check; the server answers [`ServerMsg::Pong`].
    Ping { nonce: u32 },
}

/// One websocket frame's payload, independent of any websocket library.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Frame {
    Text(String),
    Binary(Vec<u8>),
}

/// Why a frame could not be turned into a message.
#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    #[error("cannot decode message: {0}")]
    Json(#[from] serde_json::Error),
    #[error("cannot decode message: binary frames are not part of the protocol (send JSON text)")]
    UnexpectedBinary,
}

/// Turns a message into the frame that carries it.
pub fn encode<T: Serialize>(msg: &T) -> Frame {
    // Serializing these plain enums to JSON cannot fail: no maps with non-string keys,
    // no custom Serialize impls.
    Frame::Text(serde_json::to_string(msg).expect("protocol messages always serialize"))
}

/// Turns a received frame back into a message.
pub fn decode<T: DeserializeOwned>(frame: &Frame) -> Result<T, DecodeError> {
    match frame {
        Frame::Text(text) => Ok(serde_json::from_str(text)?),
        Frame::Binary(_) => Err(DecodeError::UnexpectedBinary),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_messages_round_trip() {
        let msgs = [
            ServerMsg::Hello(Hello {
                version: "0.1.0".into(),
                cores: 8,
            }),
            ServerMsg::Pong { nonce: 7 },
            ServerMsg::Error(ErrorMsg {
                message: "nope".into(),
                field: Some("type".into()),
            }),
        ];
        for msg in msgs {
            assert_eq!(decode::<ServerMsg>(&encode(&msg)).unwrap(), msg);
        }
    }

    #[test]
    fn client_messages_round_trip() {
        let msg = ClientMsg::Ping { nonce: 42 };
        assert_eq!(decode::<ClientMsg>(&encode(&msg)).unwrap(), msg);
    }

    #[test]
    fn hello_is_tagged_json() {
        let Frame::Text(text) = encode(&ServerMsg::Hello(Hello {
            version: "1.2.3".into(),
            cores: 2,
        })) else {
            panic!("JSON encoding makes text frames");
        };
        assert_eq!(text, r#"{"type":"hello","version":"1.2.3","cores":2}"#);
    }

    #[test]
    fn garbage_names_the_problem() {
        let err = decode::<ClientMsg>(&Frame::Text("not json".into())).unwrap_err();
        assert!(err.to_string().contains("expected"), "{err}");

        let err = decode::<ClientMsg>(&Frame::Text(r#"{"type":"launch"}"#.into())).unwrap_err();
        assert!(
            err.to_string().contains("unknown variant `launch`"),
            "{err}"
        );

        let err = decode::<ClientMsg>(&Frame::Binary(vec![1, 2, 3])).unwrap_err();
        assert!(err.to_string().contains("binary"), "{err}");
    }
}
