"""Shaded 3D rendering of the synthetic hand (``rehab.synth.body``) into a BGR image, CPU only.

Ray casting with analytic ray-capsule and ray-ellipsoid hits, each evaluated only inside the
primitive's projected bounding box and kept in a z-buffer. The surface is the union of the
primitives, but its normals are the gradient of their exponential smooth-minimum, so phalanges,
knuckles and palm flow into each other without creases. Skin is lit by a warm key light, a cool
fill and a rim light with wrapped (subsurface-like, red-biased) diffuse and a soft specular;
ambient occlusion comes from the same distance field; the nails are glossier patches on the back
of the distal phalanges. The hand casts a soft shadow onto a plain wall above a table edge.
Pure numpy + OpenCV, deterministic: the same inputs give the same pixels on a given build.
No text is drawn: the "rendered" label is added at playback, so mirroring never reverses it.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import cv2
import numpy as np

from rehab.synth.body import CREASED, NAIL, SLEEVE, Body

# Linear-light albedos (RGB) of the back of the hand, the palm, nails and the sleeve.
_DORSUM = np.array([0.62, 0.36, 0.24])
_PALM = np.array([0.70, 0.42, 0.31])
_NAIL = np.array([0.66, 0.44, 0.38])
_SLEEVE = np.array([0.055, 0.085, 0.15])
# Lights: direction toward the light (camera axes: x right, y down, z away), colour.
_LIGHTS = (
    (np.array([-0.45, -0.75, -0.50]), np.array([1.00, 0.95, 0.88])),   # key, upper left
    (np.array([0.80, -0.10, -0.55]), np.array([0.30, 0.33, 0.38])),    # fill, right
    (np.array([0.30, -0.40, 0.85]), np.array([0.45, 0.42, 0.40])),     # rim, behind
)
_WRAP = np.array([0.50, 0.24, 0.16])  # red light wraps further round: subsurface scattering
_AMBIENT = np.array([0.20, 0.21, 0.23])
_BLEND_M = 0.0028  # smooth-min radius of the normal field
_AO_M = 0.010  # ambient-occlusion probe distance
_WALL = np.array([0.53, 0.55, 0.57])  # linear; a light grey-blue wall
_TABLE = np.array([0.20, 0.12, 0.070])  # linear; a wooden table top
TABLE_EDGE = 0.82  # of the image height: the table's near edge
_SHADOW_OFFSET = (0.018, 0.030)  # of the image width: the key light casts down-right
_SHADOW_SIGMA = 0.016  # of the image width
_SHADOW_DEPTH = 0.42


@dataclass(frozen=True)
class View:
    """A pinhole camera at the origin looking along +z; focal length in pixels.

    ``lit_from``: the side of the key light ("left" or "right" of the picture). A left-hand
    demonstration is lit from the right, so it is exactly the mirror image of the right-hand
    one: the tracker reads palm and back from the shading, and must see the same cues.
    """

    width: int
    height: int
    focal_px: float
    lit_from: str = "left"

    @property
    def side(self) -> float:
        """+1 lit from the left, -1 from the right: the sign of every x in the lighting."""
        return 1.0 if self.lit_from == "left" else -1.0


@functools.lru_cache(maxsize=8)
def _rays(view: View) -> np.ndarray:
    """(H, W, 3) unit ray directions through pixel centres (the landmarks' projection)."""
    u = (np.arange(view.width) + 0.5 - view.width / 2) / view.focal_px
    v = (np.arange(view.height) + 0.5 - view.height / 2) / view.focal_px
    d = np.stack(np.broadcast_arrays(u[None, :], v[:, None], np.ones((1, 1))), axis=-1)
    return d / np.linalg.norm(d, axis=-1, keepdims=True)


def _bbox(view: View, centres: np.ndarray, radius_m: float) -> tuple[int, int, int, int] | None:
    """Pixel box (x0, y0, x1, y1) holding spheres of ``radius_m`` around ``centres``."""
    z = centres[:, 2] - radius_m
    if np.any(z <= 0.02):
        return 0, 0, view.width, view.height
    px = view.focal_px * centres[:, 0] / centres[:, 2] + view.width / 2
    py = view.focal_px * centres[:, 1] / centres[:, 2] + view.height / 2
    pad = view.focal_px * radius_m / z.min() * 1.1 + 2
    x0, x1 = int(max(0, px.min() - pad)), int(min(view.width, px.max() + pad + 1))
    y0, y1 = int(max(0, py.min() - pad)), int(min(view.height, py.max() + pad + 1))
    return (x0, y0, x1, y1) if x0 < x1 and y0 < y1 else None


def _sphere_hit(rd: np.ndarray, centre: np.ndarray, r: float) -> np.ndarray:
    """Distance along unit rays from the origin to a sphere (inf where missed)."""
    b = rd @ -centre
    h = b * b - (centre @ centre - r * r)
    with np.errstate(invalid="ignore"):
        t = -b - np.sqrt(h)
    return np.where((h > 0) & (t > 0), t, np.inf)


def _capsule_hit(rd: np.ndarray, a: np.ndarray, b: np.ndarray, r: float) -> np.ndarray:
    """Ray-capsule distance: the nearer of the cylinder's side and the two end spheres."""
    best = np.minimum(_sphere_hit(rd, a, r), _sphere_hit(rd, b, r))
    ba, oa = b - a, -a
    baba, baoa = ba @ ba, ba @ oa
    if baba < 1e-12:
        return best
    bard, rdoa = rd @ ba, rd @ oa
    aa = baba - bard * bard
    bb = baba * rdoa - baoa * bard
    cc = baba * (oa @ oa) - baoa * baoa - r * r * baba
    h = bb * bb - aa * cc
    with np.errstate(invalid="ignore", divide="ignore"):
        t = (-bb - np.sqrt(h)) / aa
    y = baoa + t * bard
    ok = (h > 0) & (aa > 1e-12) & (t > 0) & (y > 0) & (y < baba)
    return np.where(ok, np.minimum(t, best), best)


def _ellipsoid_hit(rd: np.ndarray, c: np.ndarray, axes: np.ndarray, r: np.ndarray) -> np.ndarray:
    ro = (-c @ axes) / r
    rl = (rd @ axes) / r
    a = np.einsum("...i,...i->...", rl, rl)
    b = rl @ ro
    h = b * b - a * (ro @ ro - 1.0)
    with np.errstate(invalid="ignore"):
        t = (-b - np.sqrt(h)) / a
    return np.where((h > 0) & (t > 0), t, np.inf)


def _capsule_sdf(p: np.ndarray, a: np.ndarray, b: np.ndarray, r: float
                 ) -> tuple[np.ndarray, np.ndarray]:
    """Signed distance and its unit gradient at points p (n, 3)."""
    ba = b - a
    pa = p - a
    h = np.clip(pa @ ba / max(ba @ ba, 1e-12), 0.0, 1.0)
    q = pa - h[:, None] * ba
    n = np.linalg.norm(q, axis=1)
    return n - r, q / np.maximum(n, 1e-9)[:, None]


def _ellipsoid_sdf(p: np.ndarray, c: np.ndarray, axes: np.ndarray, r: np.ndarray
                   ) -> tuple[np.ndarray, np.ndarray]:
    """Approximate signed distance (iq's bound) and gradient of an ellipsoid."""
    pl = (p - c) @ axes
    k0 = np.linalg.norm(pl / r, axis=1)
    g = pl / (r * r)
    k1 = np.maximum(np.linalg.norm(g, axis=1), 1e-9)
    return k0 * (k0 - 1.0) / k1, (g / k1[:, None]) @ axes.T


class _Prims:
    """The body's primitives as one indexable list (capsules first, then ellipsoids)."""

    def __init__(self, body: Body) -> None:
        self.body = body
        self.n_cap = len(body.cap_r)
        self.n = self.n_cap + len(body.ell_r)

    def bound(self, i: int) -> tuple[np.ndarray, float]:
        b = self.body
        if i < self.n_cap:
            return np.stack([b.cap_a[i], b.cap_b[i]]), float(b.cap_r[i])
        j = i - self.n_cap
        return b.ell_c[j][None], float(b.ell_r[j].max())

    def hit(self, i: int, rd: np.ndarray) -> np.ndarray:
        b = self.body
        if i < self.n_cap:
            return _capsule_hit(rd, b.cap_a[i], b.cap_b[i], float(b.cap_r[i]))
        j = i - self.n_cap
        return _ellipsoid_hit(rd, b.ell_c[j], b.ell_axes[j], b.ell_r[j])

    def sdf(self, i: int, p: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        b = self.body
        if i < self.n_cap:
            return _capsule_sdf(p, b.cap_a[i], b.cap_b[i], float(b.cap_r[i]))
        j = i - self.n_cap
        return _ellipsoid_sdf(p, b.ell_c[j], b.ell_axes[j], b.ell_r[j])


def _zbuffer(prims: _Prims, view: View) -> tuple[np.ndarray, np.ndarray]:
    """(depth along the ray, primitive id) per pixel; inf / -1 where nothing is hit."""
    rays = _rays(view)
    depth = np.full((view.height, view.width), np.inf)
    ids = np.full((view.height, view.width), -1, np.int32)
    for i in range(prims.n):
        box = _bbox(view, *prims.bound(i))
        if box is None:
            continue
        x0, y0, x1, y1 = box
        t = prims.hit(i, rays[y0:y1, x0:x1])
        zb, ib = depth[y0:y1, x0:x1], ids[y0:y1, x0:x1]
        nearer = t < zb
        zb[nearer] = t[nearer]
        ib[nearer] = i
    return depth, ids


def _field_pass(prims: _Prims, view: View, index: np.ndarray, p: np.ndarray, margin_m: float,
                visit) -> None:
    """Call visit(i, sel, d, grad) for each primitive near the hit points ``p`` of ``index``."""
    for i in range(prims.n):
        centres, r = prims.bound(i)
        box = _bbox(view, centres, r + margin_m)
        if box is None:
            continue
        x0, y0, x1, y1 = box
        sub = index[y0:y1, x0:x1]
        sel = sub[sub >= 0]
        if len(sel):
            d, g = prims.sdf(i, p[sel])
            visit(i, sel, d, g)


def _normals_and_ao(prims: _Prims, view: View, index: np.ndarray, p: np.ndarray
                    ) -> tuple[np.ndarray, np.ndarray]:
    """Smooth-min normals and ambient occlusion at the hit points ``p`` (n, 3)."""
    weight = np.zeros(len(p))
    grad = np.zeros_like(p)

    def blend(_i: int, sel: np.ndarray, d: np.ndarray, g: np.ndarray) -> None:
        w = np.exp(-np.maximum(d, 0.0) / _BLEND_M)
        np.add.at(weight, sel, w)
        np.add.at(grad, sel, w[:, None] * g)

    _field_pass(prims, view, index, p, 6 * _BLEND_M, blend)
    normal = grad / np.maximum(np.linalg.norm(grad, axis=1), 1e-9)[:, None]
    probe = p + normal * _AO_M
    nearest = np.full(len(p), _AO_M)

    def occlude(i: int, sel: np.ndarray, _d: np.ndarray, _g: np.ndarray) -> None:
        d, _ = prims.sdf(i, probe[sel])
        np.minimum.at(nearest, sel, d)

    _field_pass(prims, view, index, p, 2 * _AO_M, occlude)
    return normal, np.clip(nearest / _AO_M, 0.0, 1.0)


def _nail_amount(prims: _Prims, ids: np.ndarray, p: np.ndarray, n: np.ndarray) -> np.ndarray:
    """0..1 per hit point: how much it lies on a nail (back of a distal phalanx, distal part)."""
    b = prims.body
    cap = np.where(ids < prims.n_cap, ids, 0)
    is_nail = (ids < prims.n_cap) & (b.cap_mat[cap] == NAIL)
    a, ba = b.cap_a[cap], b.cap_b[cap] - b.cap_a[cap]
    along = np.einsum("ij,ij->i", p - a, ba) / np.maximum(np.einsum("ij,ij->i", ba, ba), 1e-12)
    facing = np.einsum("ij,ij->i", n, b.cap_dorsal[cap])
    return is_nail * _smooth(0.30, 0.55, along) * _smooth(0.35, 0.70, facing)


# Palm lines in the right-hand frame (m): the thenar crease as an arc round the thumb's base
# (centre, radius, y range), the two transverse creases as segments; all crease half-width.
_THENAR_ARC = ((0.036, 0.036), 0.035, (0.016, 0.074))
_TRANSVERSE = (((0.024, 0.071), (-0.030, 0.051)), ((-0.040, 0.060), (0.012, 0.079)))
_WRIST_CREASE = ((0.022, 0.004), (-0.024, 0.004))
_CREASE_M = 0.0011
_CREASE_DEPTH = 0.32


def _segment_distance(q: np.ndarray, a: tuple, b: tuple) -> np.ndarray:
    a_, b_ = np.array(a), np.array(b)
    ab = b_ - a_
    h = np.clip((q - a_) @ ab / (ab @ ab), 0.0, 1.0)
    return np.linalg.norm(q - a_ - h[:, None] * ab, axis=1)


def _creases(prims: _Prims, ids: np.ndarray, p: np.ndarray, n: np.ndarray) -> np.ndarray:
    """0..1 per hit point: palm lines and finger joint creases, on the palm side only."""
    b = prims.body
    q = (p - b.wrist) @ b.rot  # hand-frame coordinates (a left hand's mirrored back)
    xy = q[:, :2]
    (cx, cy), r, (y0, y1) = _THENAR_ARC
    arc = np.abs(np.hypot(xy[:, 0] - cx, xy[:, 1] - cy) - r)
    arc = np.where((xy[:, 1] > y0) & (xy[:, 1] < y1) & (xy[:, 0] < 0.026), arc, 1.0)
    d = np.minimum(arc, _segment_distance(xy, *_WRIST_CREASE))
    for seg in _TRANSVERSE:
        d = np.minimum(d, _segment_distance(xy, *seg))
    on_palm = (q[:, 2] > 0.004) & (q[:, 1] < 0.085)
    lines = np.where(on_palm, np.exp(-(d / _CREASE_M) ** 2), 0.0)
    cap = np.where(ids < prims.n_cap, ids, 0)
    creased = (ids < prims.n_cap) & np.isin(b.cap_mat[cap], (CREASED, NAIL))
    a, ba = b.cap_a[cap], b.cap_b[cap] - b.cap_a[cap]
    length = np.sqrt(np.maximum(np.einsum("ij,ij->i", ba, ba), 1e-12))
    along_m = np.einsum("ij,ij->i", p - a, ba) / length
    palmar = -np.einsum("ij,ij->i", n, b.cap_dorsal[cap])
    joint = creased * np.exp(-((along_m - 0.0015) / _CREASE_M) ** 2) * _smooth(0.2, 0.6, palmar)
    facing = _smooth(0.0, 0.4, n @ b.palmar)
    return np.maximum(lines * facing, joint)


def _smooth(e0: float, e1: float, x: np.ndarray) -> np.ndarray:
    s = np.clip((x - e0) / (e1 - e0), 0.0, 1.0)
    return s * s * (3 - 2 * s)


def _shade(prims: _Prims, ids: np.ndarray, p: np.ndarray, n: np.ndarray, ao: np.ndarray,
           side: float = 1.0) -> np.ndarray:
    """Linear RGB (n, 3) of the hit points."""
    b = prims.body
    palm_side = _smooth(-0.15, 0.55, n @ b.palmar)[:, None]
    albedo = _DORSUM + (_PALM - _DORSUM) * palm_side
    nail = _nail_amount(prims, ids, p, n)[:, None]
    albedo = albedo + (_NAIL - albedo) * nail
    albedo = albedo * (1.0 - _CREASE_DEPTH * _creases(prims, ids, p, n))[:, None]
    cap = np.where(ids < prims.n_cap, ids, 0)
    sleeve = ((ids < prims.n_cap) & (b.cap_mat[cap] == SLEEVE))[:, None]
    albedo = np.where(sleeve, _SLEEVE, albedo)
    view_dir = -p / np.linalg.norm(p, axis=1, keepdims=True)
    occl = (0.35 + 0.65 * ao ** 0.8)[:, None]
    light = _AMBIENT * occl
    spec = np.zeros((len(p), 1))
    gloss = np.where(sleeve, 0.015, 0.05 + 0.15 * nail)
    for direction, colour in _LIGHTS:
        ldir = direction * np.array([side, 1.0, 1.0]) / np.linalg.norm(direction)
        ndl = (n @ ldir)[:, None]
        light = light + colour * np.clip((ndl + _WRAP) / (1 + _WRAP), 0, 1) * (0.6 + 0.4 * occl)
        half = view_dir + ldir
        half /= np.linalg.norm(half, axis=1, keepdims=True)
        ndh = np.clip((n * half).sum(1), 0, 1)[:, None]
        spec = spec + colour.mean() * gloss * (ndh ** 28 + 0.25 * ndh ** 6) * (ndl > 0)
    return albedo * light + spec * occl


@functools.lru_cache(maxsize=4)
def background(view: View) -> np.ndarray:
    """Linear RGB (H, W, 3): a softly lit wall above a wooden table edge."""
    h, w = view.height, view.width
    y, x = np.mgrid[0:h, 0:w].astype(float)
    xn, yn = x / w, y / h
    if view.side < 0:
        xn = 1.0 - (x + 1.0) / w  # the same wall, mirrored pixel for pixel
    wall_light = 1.08 - 0.25 * np.hypot(xn - 0.25, yn - 0.1)  # brighter toward the key light
    img = _WALL * wall_light[..., None]
    edge = TABLE_EDGE * h
    table = yn * h >= edge
    depth = np.clip((yn * h - edge) / max(h - edge, 1), 0, 1)
    grain = 1.0 + 0.05 * np.sin(xn * 90.0 + 6.0 * np.sin(yn * 17.0)) * (1 - depth * 0.5)
    img = np.where(table[..., None], _TABLE * (0.85 + 0.35 * depth)[..., None] * grain[..., None],
                   img)
    lip = np.abs(yn * h - edge) < max(1.0, h / 240)
    img[lip] = _TABLE * 2.2  # the lit front edge of the table top
    return img


def _soft_shadow(mask: np.ndarray, view: View) -> np.ndarray:
    """0..1 shadow intensity the hand casts behind it, offset from the key light."""
    w = view.width
    dx, dy = _SHADOW_OFFSET[0] * w * view.side, _SHADOW_OFFSET[1] * w
    shift = np.float32([[1, 0, dx], [0, 1, dy]])
    moved = cv2.warpAffine(mask.astype(np.float32), shift, (view.width, view.height),
                           flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    return cv2.GaussianBlur(moved, (0, 0), _SHADOW_SIGMA * w) * _SHADOW_DEPTH


def _to_bgr8(rgb: np.ndarray) -> np.ndarray:
    srgb = np.clip(rgb, 0.0, 1.0) ** (1 / 2.2)
    return np.ascontiguousarray((srgb[..., ::-1] * 255.0 + 0.5).astype(np.uint8))


def _antialias(image: np.ndarray, depth: np.ndarray) -> np.ndarray:
    """Soften silhouettes and occlusion edges (where depth jumps) with a 3x3 blur."""
    finite = np.where(np.isfinite(depth), depth, 10.0)
    jump = np.zeros(depth.shape, bool)
    across = np.abs(np.diff(finite, axis=1)) > 0.008
    down = np.abs(np.diff(finite, axis=0)) > 0.008
    jump[:, 1:] |= across  # both pixels of each jump: the same edge whichever way it faces
    jump[:, :-1] |= across
    jump[1:, :] |= down
    jump[:-1, :] |= down
    soft = cv2.blur(image, (3, 3))
    return np.where(jump[..., None], soft, image)


def coverage(body: Body, view: View) -> np.ndarray:
    """(H, W) bool: the pixels the body covers (its silhouette)."""
    return _zbuffer(_Prims(body), view)[1] >= 0


def render_body(body: Body | None, view: View) -> np.ndarray:
    """BGR uint8 (H, W, 3) image of ``body`` (None: the empty scene)."""
    bg = background(view)
    if body is None:
        return _to_bgr8(bg)
    prims = _Prims(body)
    depth, ids = _zbuffer(prims, view)
    mask = ids >= 0
    index = np.full(ids.shape, -1, np.int64)
    index[mask] = np.arange(int(mask.sum()))
    p = depth[mask][:, None] * _rays(view)[mask]
    normal, ao = _normals_and_ao(prims, view, index, p)
    out = bg * (1.0 - _soft_shadow(mask, view))[..., None]
    out[mask] = _shade(prims, ids[mask], p, normal, ao, view.side)
    return _antialias(_to_bgr8(out), depth)
