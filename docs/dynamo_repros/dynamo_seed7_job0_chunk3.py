# snaptrace fuzz reproducer; constructs: arith, closure, compare, comprehension, container_methods, for, if, mutate_input, raise, tensor_op, unpacking, with
# dynamo: exception: TorchRuntimeError('RuntimeError when making fake tensor call\n  Explanation: Dynamo failed to run FX node with fake tensors: call_function <built-in function iadd>(*(FakeTensor(..., size=(3,), dtype=torch.int64), -0.6666666666666666), **{}): got RuntimeError(\'Promotion of int.add/sub_(float) in in-place ops are not possible due to element size change.\')\n  Hint: Your code may result in an error when running in eager. Please double check that your code doesn\'t contain a similar error when actually running eager/uncompiled. You can do this by removing the `torch.compile` call, or by using `torch.compiler.set_stance("force_eager")`. \n\n  Developer debug context: \n\n For more details about this graph break, please visit: https://meta-pytorch.github.io/compile-graph-break-site/gb/gb4315.html\n\nfrom user code:\n   File "<fuzz-program-228>", line 43, in fn\n    a0 += 0.0 / (abs(3.5) + 1.0) - 1.0 / (abs(0.5) + 1.0)\n\nSet TORCHDYNAMO_VERBOSE=1 for the internal stack trace (please do this especially if you\'re reporting a bug to PyTorch). For even more developer context, set TORCH_LOGS="+dynamo"\n') != RuntimeError("result type Float can't be cast to the desired output type Long")
import torch

G_N = -1
G_L = []
G_D = {'a': 2, 'b': 5}
G_LOG = []


class Box:
    """A small class: a method that reads an attribute and one that writes it."""

    def __init__(self, v):
        self.v = v

    def get(self):
        return self.v

    def bump(self, k):
        self.v = self.v + k
        return self.v


class Ctx:
    """A context manager that logs entry and exit to G_LOG and may swallow the exception."""

    def __init__(self, tag, swallow=False):
        self.tag = tag
        self.swallow = swallow

    def __enter__(self):
        G_LOG.append(('enter', self.tag))
        return self.tag

    def __exit__(self, kind, value, tb):
        G_LOG.append(('exit', self.tag, None if kind is None else kind.__name__))
        return self.swallow


def fn(a0, a1):
    if 'ab'.replace('a', 'b') < f"{-2}-{''}":
        raise ValueError(f"{torch.ones((3,)).numel()}-{'xyz' + 'ab'}")
    with torch.no_grad():
        a0 += 0.0 / (abs(3.5) + 1.0) - 1.0 / (abs(0.5) + 1.0)
        v1 = a1.sum().float().mean()
        for k2, i3 in list({k: v + 4 for k, v in {'a': 5, 'a': 1}.items()}.items()):

            def f4():
                nonlocal i3
                i3 = i3 + {'c': 7}.get('b', 0) ** 2
                return i3
            v5 = f4()
    t6 = torch.zeros_like(a0 * 2 if True else a0) + 0.001
    t7 = torch.ones((3,)).clamp(min=G_N) * torch.ones((3,)).sin()
    return (t6, t7, a1, a1, t6, t6)


INPUTS = (torch.tensor([-1, -3, 0], dtype=torch.int64), torch.tensor([2.0566344261169434, -6.271208763122559, -2.695957660675049], dtype=torch.float64))

if __name__ == '__main__':
    import tracer

    report = tracer.check(fn, INPUTS, against=('eager', 'dynamo'))
    print(report)
    raise SystemExit(0 if report.ok else 1)
