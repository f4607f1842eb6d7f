# snaptrace fuzz reproducer; constructs: arith, closure, compare, comprehension, container_methods, if, mutate_global, mutate_input, tensor_op, try, unpacking, with
# dynamo: exception: TorchRuntimeError('RuntimeError when making fake tensor call\n  Explanation: Dynamo failed to run FX node with fake tensors: call_method amax(*(FakeTensor(..., size=(0,)),), **{}): got RuntimeError(\'reducing over zero-size dimension for reduction operation without identity\')\n  Hint: Your code may result in an error when running in eager. Please double check that your code doesn\'t contain a similar error when actually running eager/uncompiled. You can do this by removing the `torch.compile` call, or by using `torch.compiler.set_stance("force_eager")`. \n\n  Developer debug context: \n\n For more details about this graph break, please visit: https://meta-pytorch.github.io/compile-graph-break-site/gb/gb4315.html\n\nfrom user code:\n   File "<fuzz-program-256>", line 56, in fn\n    v10 = (torch.ones((0,)) + 1).amax()\n          ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^\n\nSet TORCHDYNAMO_VERBOSE=1 for the internal stack trace (please do this especially if you\'re reporting a bug to PyTorch). For even more developer context, set TORCH_LOGS="+dynamo"\n') != RuntimeError("amax(): Expected reduction dim to be specified for input.numel() == 0. Specify the reduction dim with the 'dim' argument.")
import torch

G_N = 1
G_L = []
G_D = {}
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


def fn(a0, a1, a2):
    a0 -= sum(sorted(G_L, key=lambda q: -q))
    a0.zero_()
    with torch.no_grad():
        if f"{G_N}-{'ab'}" < 'ab':
            G_D.pop('a', None)
            if G_L:
                del G_L[0]
        else:
            v2 = [[2][G_N % len([2])] if [2] else G_N for q1 in [] if G_N == 10]
            G_D.setdefault('c', len([][3:G_N]))
        try:
            v3 = sum([G_N for q5 in G_L if False]) // sum([G_N for q5 in G_L if False])
            v6 = (9 if False else 1) not in G_L
            v7 = a0.clamp(min=v3) + (a0 * 2 if v6 else a0)
        except (IndexError, KeyError, ZeroDivisionError, ValueError) as e8:
            v9 = type(e8).__name__ + str(e8)
            v10 = (torch.ones((0,)) + 1).amax()
        finally:
            v11 = 10
        v12 = a0
    v13 = [] * (abs(G_N + G_N) % 3)
    return (a0,)


INPUTS = (torch.tensor([], dtype=torch.float32), {}, 0.5)

if __name__ == '__main__':
    import tracer

    report = tracer.check(fn, INPUTS, against=('eager', 'dynamo'))
    print(report)
    raise SystemExit(0 if report.ok else 1)
