//! Mock pins: a level shared between clones, so a test (or the simulated
//! board) holds one end and the logic under test the other.
//!
//! As an output, [`MockPin`] records the level it is driven to and counts
//! edges; as an input, it reads whatever the other end set. Two clones of
//! one pin model a wire: the LED pin looped back to an input pin.

use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use embedded_hal::digital::{ErrorType, InputPin, OutputPin, StatefulOutputPin};

/// A pin whose level lives in memory.
#[derive(Debug, Clone)]
pub struct MockPin {
    level: Arc<AtomicBool>,
    edges: Arc<AtomicU64>,
}

impl MockPin {
    /// A pin at `high`.
    pub fn new(high: bool) -> MockPin {
        MockPin {
            level: Arc::new(AtomicBool::new(high)),
            edges: Arc::new(AtomicU64::new(0)),
        }
    }

    /// Sets the level from outside (a finger on the button).
    pub fn set_level(&self, high: bool) {
        if self.level.swap(high, Ordering::SeqCst) != high {
            self.edges.fetch_add(1, Ordering::SeqCst);
        }
    }

    /// The level now.
    pub fn is_set_high(&self) -> bool {
        self.level.load(Ordering::SeqCst)
    }

    /// How many times the level changed.
    pub fn edges(&self) -> u64 {
        self.edges.load(Ordering::SeqCst)
    }
}

impl ErrorType for MockPin {
    type Error = Infallible;
}

impl OutputPin for MockPin {
    fn set_low(&mut self) -> Result<(), Infallible> {
        self.set_level(false);
        Ok(())
    }

    fn set_high(&mut self) -> Result<(), Infallible> {
        self.set_level(true);
        Ok(())
    }
}

impl StatefulOutputPin for MockPin {
    fn is_set_high(&mut self) -> Result<bool, Infallible> {
        Ok(MockPin::is_set_high(self))
    }

    fn is_set_low(&mut self) -> Result<bool, Infallible> {
        Ok(!MockPin::is_set_high(self))
    }
}

impl InputPin for MockPin {
    fn is_high(&mut self) -> Result<bool, Infallible> {
        Ok(MockPin::is_set_high(self))
    }

    fn is_low(&mut self) -> Result<bool, Infallible> {
        Ok(!MockPin::is_set_high(self))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clones_share_one_wire() {
        let mut out = MockPin::new(false);
        let mut input = out.clone();
        assert!(input.is_low().unwrap());
        out.set_high().unwrap();
        assert!(input.is_high().unwrap());
        out.set_high().unwrap();
        out.set_low().unwrap();
        assert!(input.is_low().unwrap());
        assert_eq!(input.edges(), 2);
    }
}
