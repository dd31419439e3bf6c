"""partyfuse: mount a remote HTTP file server (copyparty, nginx, IIS, Apache ...) read-only."""

__version__ = "0.1.0"
