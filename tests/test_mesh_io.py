"""Loading, unit scaling, repair, error messages and selection of mesh files, on analytic shapes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import trimesh

from printability.config import SelectConfig
from printability.errors import MeshError
from printability.geometry.mesh_io import (
    find_meshes,
    guess_units,
    implausible_size,
    load_and_repair,
    load_mesh,
    orient_bodies,
    repair_mesh,
)
from printability.geometry.select import compactness, file_size_reason, mesh_reason
from printability.geometry.voxelize import _voxelize_along_z, voxelize_vertices

BOX_EXTENTS = (10.0, 20.0, 30.0)
BOX_VOLUME = 6000.0


def _box(extents=BOX_EXTENTS) -> trimesh.Trimesh:
    return trimesh.creation.box(extents=extents)


def _assert_one_line_error(exc: MeshError, path: str | Path, *words: str) -> None:
    """The contract of MeshError: one line, "PATH: reason", naming the file and the reason."""
    message = str(exc)
    assert "\n" not in message and "\r" not in message
    assert message.startswith(f"{path}: ")
    assert exc.path == str(path)
    assert message == f"{exc.path}: {exc.reason}"
    for word in words:
        assert word in exc.reason


# --- formats -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "suffix, file_type",
    [
        (".stl", "stl"),
        (".stl", "stl_ascii"),
        (".obj", "obj"),
        (".ply", "ply"),
        (".off", "off"),
        (".3mf", "3mf"),
    ],
)
def test_each_format_loads_a_box_in_mm(tmp_path, suffix, file_type):
    path = tmp_path / f"box{suffix}"
    _box().export(str(path), file_type=file_type)
    if file_type == "stl_ascii":
        assert path.read_bytes().startswith(b"solid")
    else:
        assert not path.read_bytes().startswith(b"solid")

    loaded = load_mesh(path)
    assert isinstance(loaded, trimesh.Trimesh)
    assert len(loaded.faces) == 12
    np.testing.assert_allclose(np.sort(loaded.extents), BOX_EXTENTS, rtol=1e-6)

    mesh = load_and_repair(path)
    assert mesh.is_watertight
    assert mesh.is_winding_consistent
    assert mesh.volume == pytest.approx(BOX_VOLUME, rel=1e-6)
    np.testing.assert_allclose(np.sort(mesh.extents), BOX_EXTENTS, rtol=1e-6)


@pytest.mark.parametrize("suffix", [".obj", ".off"])
def test_text_format_with_a_latin1_comment_loads(tmp_path, suffix):
    text = _box().export(file_type=suffix[1:]).encode()
    header, _, rest = text.partition(b"\n")
    path = tmp_path / f"latin1{suffix}"
    path.write_bytes(header + b"\n# pi\xe8ce usin\xe9e\n" + rest)  # 'pièce usinée' in Latin-1
    assert load_and_repair(path).volume == pytest.approx(BOX_VOLUME, rel=1e-6)


def test_corrupt_stl_reason_is_about_the_file_not_the_environment(tmp_path):
    path = tmp_path / "noise.stl"
    path.write_bytes(np.random.default_rng(1).bytes(2000))
    error = _load_error(path)
    assert "ModuleNotFoundError" not in error.reason


def test_uppercase_suffix_loads(tmp_path):
    path = tmp_path / "BOX.STL"
    _box().export(str(path), file_type="stl")
    assert load_and_repair(path).volume == pytest.approx(BOX_VOLUME, rel=1e-6)


def test_glb_is_read_in_metres_as_the_gltf_spec_says(tmp_path):
    # glTF has implicit metres, so a 10x20x30 mm box is stored as 0.01 x 0.02 x 0.03.
    path = tmp_path / "box.glb"
    _box(np.array(BOX_EXTENTS) / 1000.0).export(str(path))
    mesh = load_and_repair(path)
    assert len(mesh.faces) == 12
    np.testing.assert_allclose(np.sort(mesh.extents), BOX_EXTENTS, rtol=1e-6)
    assert mesh.volume == pytest.approx(BOX_VOLUME, rel=1e-6)
    # the file states its units, so the `units` argument does not apply
    np.testing.assert_allclose(np.sort(load_mesh(path, units="cm").extents), BOX_EXTENTS, rtol=1e-6)


def _two_box_scene(scale: float = 1.0) -> trimesh.Scene:
    a = _box(np.array(BOX_EXTENTS) * scale)
    b = _box(np.array((10.0, 10.0, 10.0)) * scale)
    b.apply_translation(np.array((50.0, 0.0, 0.0)) * scale)
    return trimesh.Scene([a, b])


@pytest.mark.parametrize("suffix, scale", [(".glb", 1e-3), (".3mf", 1.0)])
def test_scene_with_two_boxes_becomes_one_mesh_with_both(tmp_path, suffix, scale):
    path = tmp_path / f"scene{suffix}"
    _two_box_scene(scale).export(str(path))
    mesh = load_and_repair(path)
    assert len(mesh.faces) == 24
    assert len(mesh.split(only_watertight=False)) == 2
    assert mesh.is_watertight
    assert mesh.volume == pytest.approx(BOX_VOLUME + 1000.0, rel=1e-6)
    # 10-wide box from x=-5, 10-wide box centred on x=50: 60 mm along x
    assert mesh.extents[0] == pytest.approx(60.0, rel=1e-6)


# --- units -------------------------------------------------------------------------------------


@pytest.mark.parametrize("suffix", [".stl", ".obj", ".ply", ".off"])
@pytest.mark.parametrize("units, mm", [("mm", 1.0), ("cm", 10.0), ("inch", 25.4), ("m", 1000.0)])
def test_units_scale_files_that_do_not_state_them(tmp_path, suffix, units, mm):
    path = tmp_path / f"cube{suffix}"
    _box((1.0, 1.0, 1.0)).export(str(path))
    mesh = load_mesh(path, units=units)
    np.testing.assert_allclose(mesh.extents, [mm, mm, mm], rtol=1e-9)
    assert load_and_repair(path, units=units).volume == pytest.approx(mm**3, rel=1e-6)


@pytest.mark.parametrize("units", ["cm", "inch", "m"])
def test_3mf_units_come_from_the_file(tmp_path, units):
    path = tmp_path / "cube.3mf"  # trimesh writes unit="millimeter"
    _box((1.0, 1.0, 1.0)).export(str(path))
    np.testing.assert_allclose(load_mesh(path, units=units).extents, [1.0, 1.0, 1.0], rtol=1e-9)


@pytest.mark.parametrize(
    "extent, unit",
    [(0.26, "m"), (0.05, "m"), (1.6, "inch"), (2.9, "inch"), (3.0, "mm"), (257.0, "mm"),
     (1500.0, "mm"), (9000.0, "mm"), (0.0005, "mm")],
)  # fmt: skip
def test_units_are_guessed_from_the_size(extent, unit):
    assert guess_units(extent) == unit


@pytest.mark.parametrize("unit, factor", [("mm", 1.0), ("m", 1000.0), ("inch", 25.4)])
def test_the_same_part_in_mm_m_and_inch_is_read_in_mm(tmp_path, unit, factor):
    path = tmp_path / f"part_{unit}.stl"
    trimesh.creation.box(extents=np.array([60.0, 40.0, 20.0]) / factor).export(str(path))
    mesh = load_and_repair(path)  # units="auto"
    np.testing.assert_allclose(np.sort(mesh.extents), [20.0, 40.0, 60.0], rtol=1e-5)
    assert mesh.metadata["units"] == unit
    assert mesh.metadata["units_assumed"] == (None if unit == "mm" else unit)
    explicit = load_mesh(path, units="mm")  # an explicit unit wins over the guess
    np.testing.assert_allclose(explicit.extents.max(), 60.0 / factor, rtol=1e-5)
    assert explicit.metadata["units_assumed"] is None


def test_an_implausible_size_gets_a_note():
    assert "are the units right" in implausible_size(0.5)
    assert "2.5 m across" in implausible_size(2500.0)
    assert implausible_size(120.0) is None


@pytest.mark.parametrize("units", ["furlong", "MM", "", "inches"])
def test_unknown_units_are_a_mesh_error(tmp_path, units):
    path = tmp_path / "cube.stl"
    _box().export(str(path))
    with pytest.raises(MeshError) as info:
        load_mesh(path, units=units)
    _assert_one_line_error(info.value, path, "unknown units")
    with pytest.raises(MeshError):
        load_and_repair(path, units=units)


def _triangle_soup(mesh: trimesh.Trimesh) -> trimesh.Trimesh:
    """The same triangles, each with its own three vertices (as unmerged exports are)."""
    n = len(mesh.faces)
    return trimesh.Trimesh(
        mesh.triangles.reshape(-1, 3), np.arange(3 * n).reshape(-1, 3), process=False
    )


# --- repair ------------------------------------------------------------------------------------


def test_repair_merges_duplicate_vertices():
    soup = _triangle_soup(_box())
    assert len(soup.vertices) == 36
    assert not soup.is_watertight
    mesh = repair_mesh(soup)
    assert mesh.is_watertight
    assert len(mesh.vertices) == 8
    assert len(mesh.faces) == 12
    assert mesh.volume == pytest.approx(BOX_VOLUME, rel=1e-9)
    assert len(soup.vertices) == 36  # the input is not changed


def test_unmerged_stl_file_is_repaired(tmp_path):
    soup = _triangle_soup(_box())
    path = tmp_path / "soup.obj"
    soup.export(str(path))
    assert len(load_mesh(path).vertices) == 36
    mesh = load_and_repair(path)
    assert mesh.is_watertight
    assert mesh.volume == pytest.approx(BOX_VOLUME, rel=1e-6)


def test_repair_drops_degenerate_and_duplicate_faces():
    box = _box()
    faces = np.vstack([box.faces, [[0, 0, 1]], [[2, 2, 2]], box.faces[:1], box.faces[3:4]])
    dirty = trimesh.Trimesh(box.vertices, faces, process=False)
    assert len(dirty.faces) == 16
    mesh = repair_mesh(dirty)
    assert len(mesh.faces) == 12
    assert mesh.is_watertight
    assert mesh.volume == pytest.approx(BOX_VOLUME, rel=1e-9)


def test_repair_fixes_inverted_winding():
    box = _box()
    inverted = trimesh.Trimesh(box.vertices, box.faces[:, ::-1], process=False)
    assert inverted.volume == pytest.approx(-BOX_VOLUME)
    mesh = repair_mesh(inverted)
    assert mesh.volume == pytest.approx(BOX_VOLUME, rel=1e-9)
    # outward normals: the +x face's normal points to +x
    right = mesh.triangles_center[:, 0] > 4.9
    assert (mesh.face_normals[right, 0] > 0.99).all()


def test_repair_fixes_inverted_winding_from_file(tmp_path):
    box = _box()
    path = tmp_path / "inverted.stl"
    trimesh.Trimesh(box.vertices, box.faces[:, ::-1], process=False).export(str(path))
    assert load_and_repair(path).volume == pytest.approx(BOX_VOLUME, rel=1e-6)


def test_repair_fixes_partly_flipped_winding():
    box = _box()
    faces = box.faces.copy()
    faces[:3] = faces[:3, ::-1]
    mesh = repair_mesh(trimesh.Trimesh(box.vertices, faces, process=False))
    assert mesh.is_winding_consistent
    assert mesh.volume == pytest.approx(BOX_VOLUME, rel=1e-9)


def test_repair_fills_a_small_hole():
    sphere = trimesh.creation.icosphere(subdivisions=2, radius=10.0)
    holed = trimesh.Trimesh(sphere.vertices, sphere.faces[1:], process=False)
    assert not holed.is_watertight
    mesh = repair_mesh(holed)
    assert mesh.is_watertight
    assert len(mesh.faces) == len(sphere.faces)
    assert mesh.volume == pytest.approx(sphere.volume, rel=1e-9)


def _box_with_a_gap(patch: float = 4.0) -> trimesh.Trimesh:
    """The 10 x 20 x 30 box, finely triangulated, with a patch of its top face missing: a gap
    of a dozen or more boundary edges that hole filling does not close."""
    box = _box().subdivide().subdivide().subdivide()
    centres = box.triangles_center
    gap = (
        (centres[:, 2] > 14.9)
        & (np.abs(centres[:, 0]) < patch / 2)
        & (np.abs(centres[:, 1]) < patch / 2)
    )
    assert gap.sum() >= 4
    return trimesh.Trimesh(box.vertices, box.faces[~gap], process=False)


def test_a_box_with_a_gap_is_judged_and_the_gap_reported(tmp_path):
    path = tmp_path / "gap.stl"
    _box_with_a_gap().export(str(path))
    mesh = load_and_repair(path)
    assert not mesh.is_watertight
    repaired = mesh.metadata["repaired"]
    assert any("boundary edges left open" in r for r in repaired), repaired
    solid = voxelize_vertices(mesh.vertices + (6.0, 11.0, 16.0), mesh.faces, (22, 42, 62))
    assert solid.sum() == 10 * 20 * 30  # exactly the closed box, voxel for voxel


def test_rays_through_a_gap_are_found_and_decided_by_the_winding_number():
    mesh = _box_with_a_gap()
    triangles = (mesh.vertices + (6.0, 11.0, 16.0))[mesh.faces]
    rays_only, open_columns = _voxelize_along_z(triangles, (22, 42, 62))
    assert 4 <= open_columns.sum() <= 36  # the columns under the (ragged) 4 x 4 mm gap
    assert rays_only.sum() != 10 * 20 * 30  # their counts alone would be wrong
    solid = voxelize_vertices(mesh.vertices + (6.0, 11.0, 16.0), mesh.faces, (22, 42, 62))
    closed = voxelize_vertices(_box().vertices + (6.0, 11.0, 16.0), _box().faces, (22, 42, 62))
    np.testing.assert_array_equal(solid, closed)


def test_a_duplicated_shell_is_removed_and_reported():
    box = _box()
    copy = box.copy()
    copy.apply_translation((1e-5, -1e-5, 0.0))  # off by rounding: not merged as vertices
    mesh = repair_mesh(trimesh.util.concatenate([box, copy]))
    assert mesh.metadata["repaired"] == ["1 duplicated shell removed"]
    assert len(mesh.faces) == 12
    assert mesh.volume == pytest.approx(BOX_VOLUME, rel=1e-4)


def test_an_exactly_duplicated_shell_is_removed_and_reported():
    box = _box()
    mesh = repair_mesh(trimesh.util.concatenate([box, box.copy()]))
    assert mesh.metadata["repaired"] == ["12 duplicate faces removed"]
    assert mesh.volume == pytest.approx(BOX_VOLUME, rel=1e-9)


def test_overlapping_bodies_are_their_union():
    a = trimesh.creation.box(extents=(10.0, 10.0, 10.0))
    b = trimesh.creation.box(extents=(10.0, 10.0, 10.0))
    b.apply_translation((5.0, 0.0, 0.0))  # overlaps half of a: the union is 15 x 10 x 10
    mesh = repair_mesh(trimesh.util.concatenate([a, b]))
    solid = voxelize_vertices(mesh.vertices + (10.0, 7.0, 7.0), mesh.faces, (30, 14, 14))
    assert solid.sum() == 15 * 10 * 10  # parity would hollow out the overlap (10 x 10 x 5)


def test_a_body_inside_another_is_a_cavity_but_one_poking_out_is_not():
    outer = trimesh.creation.box(extents=(20.0, 20.0, 20.0))
    inner = trimesh.creation.box(extents=(6.0, 6.0, 6.0))
    assert orient_bodies(mesh := trimesh.util.concatenate([outer, inner])) == pytest.approx(
        8000.0 - 216.0
    )
    poking = trimesh.creation.box(extents=(6.0, 6.0, 6.0))
    poking.apply_translation((9.0, 0.0, 0.0))  # from x = 6 to 12: out of the outer box's side
    solid_mesh = trimesh.util.concatenate([outer, poking])
    assert orient_bodies(solid_mesh) == pytest.approx(8000.0 + 216.0)  # both face outward
    assert mesh.is_winding_consistent


def test_repair_keeps_two_separate_bodies():
    a = _box()
    b = _box((10.0, 10.0, 10.0))
    b.apply_translation((50.0, 0.0, 0.0))
    mesh = repair_mesh(trimesh.util.concatenate([a, b]))
    assert mesh.volume == pytest.approx(BOX_VOLUME + 1000.0, rel=1e-9)


def test_repair_of_a_clean_mesh_changes_nothing():
    box = _box()
    mesh = repair_mesh(box)
    np.testing.assert_allclose(np.sort(mesh.extents), BOX_EXTENTS)
    assert len(mesh.faces) == 12
    assert mesh is not box


# --- errors ------------------------------------------------------------------------------------


def _load_error(path: Path, *words: str) -> MeshError:
    with pytest.raises(MeshError) as info:
        load_and_repair(path)
    _assert_one_line_error(info.value, path, *words)
    return info.value


def test_missing_file(tmp_path):
    path = tmp_path / "nope" / "missing.stl"
    _load_error(path, "no such file")
    with pytest.raises(MeshError):
        load_mesh(str(path))


def test_folder_is_not_a_mesh_file(tmp_path):
    folder = tmp_path / "folder.stl"
    folder.mkdir()
    _load_error(folder, "not a file")


def test_empty_file(tmp_path):
    path = tmp_path / "empty.stl"
    path.write_bytes(b"")
    _load_error(path, "empty")


def test_text_file_with_stl_suffix(tmp_path):
    path = tmp_path / "hello.stl"
    path.write_text("hello world")
    _load_error(path)


def test_random_bytes_in_ply(tmp_path):
    path = tmp_path / "noise.ply"
    path.write_bytes(np.random.default_rng(0).bytes(2000))
    _load_error(path, "cannot parse")


@pytest.mark.parametrize("suffix", [".stl", ".obj", ".off", ".3mf", ".glb"])
def test_random_bytes_in_other_formats(tmp_path, suffix):
    path = tmp_path / f"noise{suffix}"
    path.write_bytes(np.random.default_rng(1).bytes(2000))
    _load_error(path)


def test_truncated_binary_stl(tmp_path):
    path = tmp_path / "truncated.stl"
    path.write_bytes(_box().export(file_type="stl")[:200])
    _load_error(path)


def test_3mf_with_a_broken_model(tmp_path):
    # a zip, as 3MF is, whose model is not XML
    import zipfile

    path = tmp_path / "broken.3mf"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("3D/3dmodel.model", "not\nxml\nat all")
    _load_error(path)


@pytest.mark.parametrize("value", [np.nan, np.inf])
def test_non_finite_vertex(tmp_path, value):
    path = tmp_path / "nan.obj"
    path.write_text(
        f"v {value} 0 0\nv 10 0 0\nv 0 10 0\nv 0 0 10\nf 1 3 2\nf 1 2 4\nf 1 4 3\nf 2 3 4\n"
    )
    _load_error(path, "NaN")


def test_non_finite_vertex_in_memory():
    box = _box()
    vertices = box.vertices.copy()
    vertices[0, 0] = np.nan
    with pytest.raises(MeshError) as info:
        repair_mesh(trimesh.Trimesh(vertices, box.faces, process=False), "part.stl")
    _assert_one_line_error(info.value, "part.stl", "NaN")


def test_flat_quad_has_no_volume(tmp_path):
    quad = trimesh.Trimesh(
        [[0, 0, 0], [10, 0, 0], [10, 10, 0], [0, 10, 0]], [[0, 1, 2], [0, 2, 3]], process=False
    )
    path = tmp_path / "quad.stl"
    quad.export(str(path))
    _load_error(path)


@pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning")
def test_flattened_closed_box_has_no_volume(tmp_path):
    box = _box()
    vertices = box.vertices.copy()
    vertices[:, 2] = 0.0  # a closed, watertight surface of zero thickness
    path = tmp_path / "flat.obj"
    trimesh.Trimesh(vertices, box.faces, process=False).export(str(path))
    _load_error(path, "no volume")


def test_flat_sheet_is_not_a_solid(tmp_path):
    grid = trimesh.creation.box(extents=(40.0, 40.0, 1.0)).subdivide().subdivide()
    top = grid.triangles_center[:, 2] > 0.4
    path = tmp_path / "sheet.stl"
    trimesh.Trimesh(grid.vertices, grid.faces[top], process=False).export(str(path))
    error = _load_error(path, "not a solid", "boundary edges")
    assert int(error.reason.split("openings ")[1].split("%")[0]) >= 95  # all of it is opening


def test_open_tube_is_not_a_solid(tmp_path):
    cylinder = trimesh.creation.cylinder(radius=5.0, height=20.0, sections=32)
    side = np.abs(cylinder.face_normals[:, 2]) < 0.5
    tube = trimesh.Trimesh(cylinder.vertices, cylinder.faces[side], process=False)
    path = tmp_path / "tube.stl"
    tube.export(str(path))
    _load_error(path, "not a solid", "25%", "64 boundary edges")


def test_half_sphere_is_not_a_solid(tmp_path):
    sphere = trimesh.creation.icosphere(subdivisions=2, radius=10.0)
    upper = sphere.triangles_center[:, 2] > 0
    path = tmp_path / "dome.ply"
    trimesh.Trimesh(sphere.vertices, sphere.faces[upper], process=False).export(str(path))
    _load_error(path, "not a solid")


def test_unsupported_suffix(tmp_path):
    path = tmp_path / "box.txt"
    path.write_bytes(_box().export(file_type="stl"))
    _load_error(path, "unsupported format", ".txt")


def test_in_memory_errors_name_the_given_name():
    quad = trimesh.Trimesh([[0, 0, 0], [1, 0, 0], [1, 1, 0], [0, 1, 0]], [[0, 1, 2], [0, 2, 3]])
    with pytest.raises(MeshError) as info:
        repair_mesh(quad, Path("parts/quad.stl"))
    _assert_one_line_error(info.value, "parts/quad.stl")


# --- find_meshes -------------------------------------------------------------------------------


def test_find_meshes_is_recursive_sorted_and_skips_other_files(tmp_path):
    wanted = ["b.stl", "a.OBJ", "sub/c.ply", "sub/deeper/d.3mf", "z/e.glb", "f.off"]
    ignored = ["readme.txt", "sub/notes.md", "image.png", "sub/stl", "g.stl.bak"]
    for name in wanted + ignored:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"x")
    (tmp_path / "folder.stl").mkdir()  # a folder named like a mesh is not a file
    found = find_meshes(tmp_path)
    assert found == sorted(tmp_path / name for name in wanted)
    assert found == sorted(found)
    assert find_meshes(str(tmp_path)) == found


def test_find_meshes_of_empty_folder(tmp_path):
    assert find_meshes(tmp_path) == []


def test_find_meshes_not_a_folder(tmp_path):
    missing = tmp_path / "missing"
    with pytest.raises(MeshError) as info:
        find_meshes(missing)
    _assert_one_line_error(info.value, missing, "not a folder")
    a_file = tmp_path / "box.stl"
    _box().export(str(a_file))
    with pytest.raises(MeshError) as info:
        find_meshes(a_file)
    _assert_one_line_error(info.value, a_file, "not a folder")


# --- selection ---------------------------------------------------------------------------------


def _rods(length: float = 100.0, width: float = 2.0) -> trimesh.Trimesh:
    """A union of three long thin boxes along the axes, crossing at the origin."""
    rods = [_box(np.roll([length, width, width], k)) for k in range(3)]
    return trimesh.boolean.union(rods, engine="manifold")


def test_compactness_of_a_box_is_one():
    assert compactness(_box()) == pytest.approx(1.0)
    assert compactness(repair_mesh(trimesh.Trimesh(_box().vertices, _box().faces[:, ::-1]))) == (
        pytest.approx(1.0)
    )


def test_compactness_of_a_sphere():
    sphere = trimesh.creation.icosphere(subdivisions=4, radius=10.0)
    assert compactness(sphere) == pytest.approx(np.pi / 6, rel=0.01)


def test_compactness_of_thin_rods_is_small():
    rods = _rods()
    assert rods.is_watertight
    expected = (3 * 100 * 2 * 2 - 2 * 2**3) / 100**3  # three rods, the centre cube counted once
    assert compactness(rods) == pytest.approx(expected, rel=1e-6)
    assert compactness(rods) < 0.05
    assert mesh_reason(rods, SelectConfig()) == "compactness below 0.05"
    assert mesh_reason(rods, SelectConfig(min_compactness=None)) is None


def test_compactness_of_a_flat_thing_is_zero():
    quad = trimesh.Trimesh([[0, 0, 0], [1, 0, 0], [1, 1, 0], [0, 1, 0]], [[0, 1, 2], [0, 2, 3]])
    assert compactness(quad) == 0.0


def test_mesh_reason_accepts_a_box():
    assert mesh_reason(_box(), SelectConfig()) is None


def test_mesh_reason_too_few_faces():
    tetra = trimesh.Trimesh(
        [[0, 0, 0], [10, 0, 0], [0, 10, 0], [0, 0, 10]],
        [[0, 2, 1], [0, 1, 3], [0, 3, 2], [1, 2, 3]],
    )
    assert tetra.is_watertight and tetra.volume > 0
    assert mesh_reason(tetra, SelectConfig()) == "fewer than 12 faces"
    assert mesh_reason(_box(), SelectConfig(min_faces=13)) == "fewer than 13 faces"
    assert mesh_reason(_box(), SelectConfig(min_faces=12)) is None
    assert mesh_reason(tetra, SelectConfig(min_faces=None)) is None


def test_mesh_reason_too_many_faces():
    sphere = trimesh.creation.icosphere(subdivisions=3, radius=10.0)
    assert len(sphere.faces) == 1280
    assert mesh_reason(sphere, SelectConfig(max_faces=1000)) == "more than 1000 faces"
    assert mesh_reason(sphere, SelectConfig(max_faces=1280)) is None
    assert mesh_reason(sphere, SelectConfig(max_faces=None)) is None


def test_mesh_reason_not_watertight():
    sphere = trimesh.creation.icosphere(subdivisions=2, radius=10.0)
    holed = trimesh.Trimesh(sphere.vertices, sphere.faces[1:], process=False)
    assert mesh_reason(holed, SelectConfig(require_watertight=True)) == "not watertight"
    assert mesh_reason(holed, SelectConfig()) is None  # by default decided by winding number


def test_file_size_reason(tmp_path):
    path = tmp_path / "box.stl"
    _box().export(str(path))  # 684 bytes
    assert file_size_reason(path, SelectConfig()) is None
    assert file_size_reason(path, SelectConfig(max_file_mb=None)) is None
    assert file_size_reason(path, SelectConfig(max_file_mb=0.0005)) == "file larger than 0.0005 MB"


def test_face_index_out_of_range_is_a_mesh_error(tmp_path):
    path = tmp_path / "badidx.ply"
    path.write_text(
        "ply\nformat ascii 1.0\nelement vertex 3\nproperty float x\nproperty float y\n"
        "property float z\nelement face 1\nproperty list uchar int vertex_indices\nend_header\n"
        "0 0 0\n1 0 0\n0 1 0\n3 0 1 7\n"
    )
    with pytest.raises(MeshError) as info:
        load_and_repair(path)
    assert str(path) in str(info.value) and "\n" not in str(info.value)


def test_each_inside_out_body_is_turned_outward():
    good = trimesh.creation.box((2.0, 2.0, 2.0))
    bad = trimesh.creation.box((1.0, 1.0, 3.0))
    bad.apply_translation([5.0, 0.0, 0.0])
    bad.invert()
    both = trimesh.util.concatenate([good, bad])
    assert both.volume == pytest.approx(8.0 - 3.0)
    assert orient_bodies(both) == pytest.approx(11.0)
    assert both.volume == pytest.approx(11.0)  # trimesh's own integral agrees
    assert all(body.volume > 0 for body in both.split(only_watertight=True))


def test_bodies_touching_at_a_corner_are_oriented_one_by_one():
    good = trimesh.creation.box((2.0, 2.0, 2.0))
    bad = trimesh.creation.box((1.0, 1.0, 1.0))
    bad.apply_translation([1.5, 1.5, 1.5])  # its corner (1, 1, 1) is good's corner
    bad.invert()
    both = trimesh.util.concatenate([good, bad])
    both.merge_vertices()  # the corner is now one shared vertex
    assert orient_bodies(both) == pytest.approx(9.0)
    assert both.volume == pytest.approx(9.0)


@pytest.mark.parametrize("cavity_inverted", [False, True])
def test_a_cavity_faces_inward_and_its_volume_is_subtracted(cavity_inverted):
    outer = trimesh.creation.box((10.0, 10.0, 10.0))
    cavity = trimesh.creation.box((4.0, 4.0, 4.0))  # normals out of the cavity: wrong as given
    if cavity_inverted:
        cavity.invert()  # already right
    island = trimesh.creation.box((2.0, 2.0, 2.0))  # a loose solid inside the cavity: outward
    island.invert()
    cavity.apply_translation([2.0, 0.0, 0.0])
    island.apply_translation([2.0, 0.0, 0.0])
    part = trimesh.util.concatenate([outer, cavity, island])
    assert orient_bodies(part) == pytest.approx(1000.0 - 64.0 + 8.0)
    assert part.volume == pytest.approx(944.0)
    expected_x = (1000.0 * 0 - 64.0 * 2 + 8.0 * 2) / 944.0  # the cavity pulls it to -x
    assert np.allclose(part.center_mass, [expected_x, 0.0, 0.0], atol=1e-9)
    beside = trimesh.creation.box((2.0, 2.0, 2.0))
    beside.apply_translation([20.0, 0.0, 0.0])  # a separate body stays outward
    both = trimesh.util.concatenate([trimesh.creation.box((10.0, 10.0, 10.0)), beside])
    assert orient_bodies(both) == pytest.approx(1008.0)


def test_too_many_unsure_voxels_are_decided_by_the_three_axes_vote(monkeypatch):
    import printability.geometry.voxelize as voxelize_module

    box = _box().subdivide().subdivide().subdivide()
    corner = np.linalg.norm(box.triangles_center - (5.0, 10.0, 15.0), axis=1) < 3.0
    mesh = trimesh.Trimesh(box.vertices, box.faces[~corner], process=False)  # a corner open
    shifted = mesh.vertices + (6.0, 11.0, 16.0)
    exact = voxelize_vertices(shifted, mesh.faces, (22, 42, 62))
    assert abs(int(exact.sum()) - 6000) <= 3 * 3 * 3  # the winding number: off at the corner

    def no_winding_number(*args):
        raise AssertionError("the winding number is over budget here")

    monkeypatch.setattr(voxelize_module, "MAX_WINDING_POINTS", 0)
    monkeypatch.setattr(voxelize_module, "_decide_by_winding_number", no_winding_number)
    voted = voxelize_vertices(shifted, mesh.faces, (22, 42, 62))
    assert abs(int(voted.sum()) - 6000) <= 3 * 3 * 3  # at most the corner's few voxels differ
    np.testing.assert_array_equal(voted[:, :, :20], exact[:, :, :20])  # far from it: exact
