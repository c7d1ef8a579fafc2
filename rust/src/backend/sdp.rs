//! Checks on a description before it reaches webrtc-rs, and what is read back from one.
//! Whatever the main thread can judge by itself (SDP syntax, a usable fingerprint) it refuses
//! at once, with the reason; only what needs webrtc-rs's state goes to the connection's task.

use super::error::Error;
use super::events::SdpKind;
use webrtc::peer_connection::{RTCIceCandidateInit, RTCSessionDescription};

pub(crate) fn parse_description(kind: SdpKind, sdp: &str) -> Result<RTCSessionDescription, Error> {
    let parsed = match kind {
        SdpKind::Offer => RTCSessionDescription::offer(sdp.to_owned()),
        SdpKind::Answer => RTCSessionDescription::answer(sdp.to_owned()),
        SdpKind::Pranswer => RTCSessionDescription::pranswer(sdp.to_owned()),
    };
    let description = parsed.map_err(|error| Error::InvalidSdp {
        kind: kind.as_str(),
        reason: error.to_string(),
    })?;
    let session = description.unmarshal().map_err(|error| Error::InvalidSdp {
        kind: kind.as_str(),
        reason: error.to_string(),
    })?;
    if session.media_descriptions.is_empty() {
        return Err(Error::InvalidSdp {
            kind: kind.as_str(),
            reason: "it has no media section (m= line)".into(),
        });
    }
    check_fingerprint(&session).map_err(|reason| Error::InvalidSdp {
        kind: kind.as_str(),
        reason,
    })?;
    Ok(description)
}

/// The peer's DTLS certificate is checked against the description's `a=fingerprint` (RFC 8122),
/// which webrtc-rs 0.21.1 can only do for a SHA-256 one. Without a usable fingerprint the DTLS
/// handshake can only fail (webrtc-rs finds out seconds later, or not at all), so say so now.
fn check_fingerprint(session: &rtc::sdp::SessionDescription) -> Result<(), String> {
    let fingerprint = session
        .attribute("fingerprint")
        .map(String::as_str)
        .or_else(|| {
            session
                .media_descriptions
                .iter()
                .find_map(|media| media.attribute("fingerprint").flatten())
        })
        .ok_or("it has no a=fingerprint line, so the peer's DTLS certificate cannot be checked")?;
    let (hash, value) = fingerprint
        .trim()
        .split_once(' ')
        .unwrap_or((fingerprint, ""));
    if !hash.eq_ignore_ascii_case("sha-256") {
        return Err(format!(
            "its a=fingerprint uses the hash function \"{hash}\", but only sha-256 can be checked"
        ));
    }
    let bytes: Vec<&str> = value.trim().split(':').collect();
    if bytes.len() != 32
        || !bytes
            .iter()
            .all(|byte| byte.len() == 2 && byte.chars().all(|c| c.is_ascii_hexdigit()))
    {
        return Err(format!(
            "its a=fingerprint \"{value}\" is not 32 hexadecimal bytes separated by colons"
        ));
    }
    Ok(())
}

/// The mid of the first media section: with BUNDLE every candidate belongs to it.
pub(crate) fn first_mid(description: &RTCSessionDescription) -> Option<String> {
    let session = description.unmarshal().ok()?;
    let media = session.media_descriptions.first()?;
    media.attribute("mid").flatten().map(str::to_owned)
}

/// A trickled candidate, checked; `None` for the empty one (end of candidates), which needs
/// nothing done.
pub(crate) fn parse_candidate(
    mid: &str,
    index: u16,
    candidate: &str,
) -> Result<Option<RTCIceCandidateInit>, Error> {
    let body = candidate.trim();
    if body.is_empty() {
        return Ok(None);
    }
    let attribute = body.strip_prefix("a=").unwrap_or(body);
    let bare = attribute.strip_prefix("candidate:").unwrap_or(attribute);
    rtc::ice::candidate::unmarshal_candidate(bare).map_err(|error| Error::InvalidCandidate {
        candidate: candidate.to_owned(),
        reason: error.to_string(),
    })?;
    Ok(Some(RTCIceCandidateInit {
        candidate: format!("candidate:{bare}"),
        sdp_mid: Some(mid.to_owned()),
        sdp_mline_index: Some(index),
        ..Default::default()
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_description_without_a_usable_fingerprint_is_refused() {
        let sdp = |fingerprint: &str| {
            format!(
                "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n{fingerprint}\
                 m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\nc=IN IP4 0.0.0.0\r\n\
                 a=mid:0\r\na=setup:actpass\r\na=sctp-port:5000\r\n"
            )
        };
        let good = format!("a=fingerprint:sha-256 {}\r\n", ["AB"; 32].join(":"));
        parse_description(SdpKind::Offer, &sdp(&good)).unwrap();
        parse_description(SdpKind::Offer, &sdp(&good.replace("sha-256", "SHA-256"))).unwrap();
        for (fingerprint, why) in [
            (String::new(), "no a=fingerprint"),
            (good.replace("sha-256", "sha-999"), "\"sha-999\""),
            (good.replacen("AB:AB:", "AB:", 1), "32 hexadecimal bytes"),
            (good.replacen("AB:AB:", "ZZ:AB:", 1), "32 hexadecimal bytes"),
        ] {
            let error = parse_description(SdpKind::Offer, &sdp(&fingerprint)).unwrap_err();
            assert!(error.to_string().contains(why), "{error}");
        }
    }

    #[test]
    fn the_mid_is_read_from_the_first_media_section() {
        let sdp = "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n\
                   m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\nc=IN IP4 0.0.0.0\r\n\
                   a=mid:0\r\na=setup:passive\r\na=sctp-port:5000\r\n";
        let description = RTCSessionDescription::answer(sdp.to_owned()).unwrap();
        assert_eq!(first_mid(&description).as_deref(), Some("0"));
    }
}
