"""What the browser tests' drivers (webview-cdp.py, webview-firefox.py) make of the records a
touch device received: (type, code, value) tuples as the wire format carries them."""


def multitouch_line(recs):
    """The "multitouch ..." output line: the slots that got a position, each slot's X, and how
    many contacts were lifted (ABS_MT_TRACKING_ID -1)."""
    slots, cur, xs = set(), 0, {}
    for t, c, v in recs:
        if (t, c) == (3, 0x2f):  # ABS_MT_SLOT
            cur = v
        elif (t, c) == (3, 0x35):  # ABS_MT_POSITION_X
            slots.add(cur)
            xs[cur] = v
    return "multitouch slots %d x %s lifted %d" % (len(slots), " ".join(str(xs[k]) for k in sorted(xs)),
                                                   sum(1 for r in recs if r == (3, 0x39, -1)))
