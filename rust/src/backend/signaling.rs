//! The offer/answer state machine of the W3C spec (JSEP), checked on the main thread so that a
//! description of the wrong type for the current state is refused with an error at once,
//! as a browser refuses it, instead of failing later in the background.

use super::events::{SdpKind, SignalingState};

/// Which side a description belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    Local,
    Remote,
}

impl SignalingState {
    /// The state after applying a description, or `None` if this state does not allow it.
    pub fn apply(self, side: Side, kind: SdpKind) -> Option<SignalingState> {
        use SdpKind::*;
        use SignalingState::*;
        match (self, side, kind) {
            (Stable | HaveLocalOffer, Side::Local, Offer) => Some(HaveLocalOffer),
            (Stable | HaveRemoteOffer, Side::Remote, Offer) => Some(HaveRemoteOffer),
            (HaveRemoteOffer | HaveLocalPranswer, Side::Local, Answer) => Some(Stable),
            (HaveRemoteOffer | HaveLocalPranswer, Side::Local, Pranswer) => Some(HaveLocalPranswer),
            (HaveLocalOffer | HaveRemotePranswer, Side::Remote, Answer) => Some(Stable),
            (HaveLocalOffer | HaveRemotePranswer, Side::Remote, Pranswer) => {
                Some(HaveRemotePranswer)
            }
            _ => None,
        }
    }

    /// Whether `create_offer()` makes sense now (not while answering a remote offer).
    pub fn can_create_offer(self) -> bool {
        matches!(
            self,
            SignalingState::Stable | SignalingState::HaveLocalOffer
        )
    }

    pub fn name(self) -> &'static str {
        match self {
            SignalingState::Stable => "stable",
            SignalingState::HaveLocalOffer => "have-local-offer",
            SignalingState::HaveRemoteOffer => "have-remote-offer",
            SignalingState::HaveLocalPranswer => "have-local-pranswer",
            SignalingState::HaveRemotePranswer => "have-remote-pranswer",
            SignalingState::Closed => "closed",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use SdpKind::*;
    use SignalingState::*;

    #[test]
    fn offerer_and_answerer_paths() {
        let offerer = Stable.apply(Side::Local, Offer).unwrap();
        assert_eq!(offerer, HaveLocalOffer);
        assert_eq!(offerer.apply(Side::Remote, Answer), Some(Stable));

        let answerer = Stable.apply(Side::Remote, Offer).unwrap();
        assert_eq!(answerer, HaveRemoteOffer);
        assert_eq!(
            answerer.apply(Side::Local, Pranswer),
            Some(HaveLocalPranswer)
        );
        assert_eq!(answerer.apply(Side::Local, Answer), Some(Stable));
    }

    #[test]
    fn wrong_type_for_the_state_is_refused() {
        assert_eq!(Stable.apply(Side::Remote, Answer), None);
        assert_eq!(Stable.apply(Side::Local, Answer), None);
        assert_eq!(HaveLocalOffer.apply(Side::Remote, Offer), None);
        assert_eq!(HaveRemoteOffer.apply(Side::Local, Offer), None);
        assert_eq!(Closed.apply(Side::Local, Offer), None);
        assert!(!HaveRemoteOffer.can_create_offer());
        assert!(Stable.can_create_offer());
    }
}
