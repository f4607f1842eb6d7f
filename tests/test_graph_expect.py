"""Expect tests of the generated graph code, and source locations in node meta."""
import inspect

import torch
import torch.nn.functional as F

from tracer import trace


def linear_relu(x, w, b):
    y = F.linear(x, w, b)  # op: linear
    z = torch.relu(y)  # op: relu
    return z.sum(dim=-1)  # op: sum


def arithmetic(x, y):
    a = x * 2 + y  # op: mul add
    b = a.transpose(0, 1)  # op: transpose
    return b[0], a / 3  # op: getitem truediv


def loop_and_shape(x):
    out = x
    for i in range(x.shape[0] - 1):
        out = out + x[i]  # op: getitem add
    return out.reshape(-1)  # op: reshape


def marked_lines(fn) -> list:
    """(line number, number of ops) for each source line of fn marked `# op: ...`."""
    lines, start = inspect.getsourcelines(fn)
    found = []
    for offset, line in enumerate(lines):
        if "# op:" in line:
            found.append((start + offset, len(line.split("# op:")[1].split())))
    return found


def graph_of(fn, *args):
    res = trace(fn, args)
    assert len(res.graphs) == 1 and res.graph_breaks == []
    return res.graphs[0]


LINEAR_RELU = '''


def forward(self, x, w, b):
    linear = torch._C._nn.linear(x, w, b);  x = w = b = None
    relu = torch.relu(linear);  linear = None
    sum_1 = relu.sum(dim = -1);  relu = None
    return (sum_1,)
    '''

ARITHMETIC = '''


def forward(self, x, y):
    mul = x * 2;  x = None
    add = mul + y;  mul = y = None
    transpose = add.transpose(0, 1)
    getitem = transpose[0];  transpose = None
    truediv = add / 3;  add = None
    return (getitem, truediv)
    '''

LOOP_AND_SHAPE = '''


def forward(self, x):
    getitem = x[0]
    add = x + getitem;  getitem = None
    getitem_1 = x[1];  x = None
    add_1 = add + getitem_1;  add = getitem_1 = None
    reshape = add_1.reshape(-1);  add_1 = None
    return (reshape,)
    '''


def test_linear_relu_graph_code():
    gm = graph_of(linear_relu, torch.randn(2, 4), torch.randn(3, 4), torch.randn(3))
    assert gm.code == LINEAR_RELU


def test_arithmetic_graph_code():
    gm = graph_of(arithmetic, torch.randn(2, 3), torch.randn(2, 3))
    assert gm.code == ARITHMETIC


def test_loop_graph_code():
    gm = graph_of(loop_and_shape, torch.randn(3, 2))
    assert gm.code == LOOP_AND_SHAPE


CASES = [
    (linear_relu, (torch.randn(2, 4), torch.randn(3, 4), torch.randn(3))),
    (arithmetic, (torch.randn(2, 3), torch.randn(2, 3))),
    (loop_and_shape, (torch.randn(3, 2),)),
]


def test_nodes_carry_the_source_line_of_their_op():
    for fn, args in CASES:
        gm = graph_of(fn, *args)
        calls = [n for n in gm.graph.nodes if n.op in ("call_function", "call_method")]
        expected = [line for line, count in marked_lines(fn) for _ in range(count)]
        if fn is loop_and_shape:  # the loop body's line once per iteration
            (body, _), (last, _) = marked_lines(fn)
            expected = [body] * 4 + [last]
        assert [n.meta["lineno"] for n in calls] == expected, fn.__name__
        for node in calls:
            assert node.meta["filename"] == __file__
            assert "# op:" in node.meta["stack_trace"]
            assert isinstance(node.meta["example_value"], torch.Tensor)


def test_graphs_lint_and_run():
    for fn, args in CASES:
        gm = graph_of(fn, *args)
        gm.graph.lint()
        placeholders = [n.target for n in gm.graph.nodes if n.op == "placeholder"]
        assert placeholders == list(inspect.signature(fn).parameters)
        out = gm(*args)
        expected = fn(*args)
        expected = expected if isinstance(expected, tuple) else (expected,)
        assert len(out) == len(expected)
        for a, e in zip(out, expected):
            torch.testing.assert_close(a, e)
