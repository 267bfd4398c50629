# Sourced by the scripts here: sets cache_root, the per-user cache folder of segmenter's tools
# (SEGMENTER_CACHE_DIR, else $XDG_CACHE_HOME/segmenter, else ~/.cache/segmenter).
if [ -n "${SEGMENTER_CACHE_DIR:-}" ]; then
    cache_root="$SEGMENTER_CACHE_DIR"
elif [ -n "${XDG_CACHE_HOME:-}" ]; then
    cache_root="$XDG_CACHE_HOME/segmenter"
else
    cache_root="${HOME:?HOME is not set}/.cache/segmenter"
fi
