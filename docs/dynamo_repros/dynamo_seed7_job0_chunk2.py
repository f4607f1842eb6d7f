# snaptrace fuzz reproducer; constructs: arith, class, compare, comprehension, container_methods, mutate_global, tensor_op, try, unpacking
# dynamo: exception: TorchRuntimeError('RuntimeError when making fake tensor call\n  Explanation: Dynamo failed to run FX node with fake tensors: call_method amax(*(FakeTensor(..., size=(0,)),), **{}): got RuntimeError(\'reducing over zero-size dimension for reduction operation without identity\')\n  Hint: Your code may result in an error when running in eager. Please double check that your code doesn\'t contain a similar error when actually running eager/uncompiled. You can do this by removing the `torch.compile` call, or by using `torch.compiler.set_stance("force_eager")`. \n\n  Developer debug context: \n\n For more details about this graph break, please visit: https://meta-pytorch.github.io/compile-graph-break-site/gb/gb4315.html\n\nfrom user code:\n   File "<fuzz-program-192>", line 52, in fn\n    v11 = torch.where(a2 > 0, a2, torch.ones((0,))) + a2.amax()\n                                                      ^^^^^^^^^\n\nSet TORCHDYNAMO_VERBOSE=1 for the internal stack trace (please do this especially if you\'re reporting a bug to PyTorch). For even more developer context, set TORCH_LOGS="+dynamo"\n') != RuntimeError("amax(): Expected reduction dim to be specified for input.numel() == 0. Specify the reduction dim with the 'dim' argument.")
import torch

G_N = 3
G_L = [0, 5, 2]
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


def fn(a0, a1, a2, a3):
    try:
        v1 = int(G_N < 1 <= G_N) // int(G_N < 1 <= G_N)
        G_D['c'] = G_N
    except (IndexError, KeyError, ZeroDivisionError, ValueError) as e2:
        v3 = type(e2).__name__ + str(e2)
        v4 = -3 not in sorted(G_L, key=lambda q: -q)
        try:
            v5 = [-2, 6][min(G_N, G_N) - (G_L[G_N % len(G_L)] if G_L else G_N)]
            v6, v7 = ((a2 * 2 if v4 else a2).float().mean(), (G_L + G_L)[v5 ** 2 % len(G_L + G_L)] if G_L + G_L else v5 ** 2)
            v8 = 2.0 * len([])
        except (IndexError, KeyError, ZeroDivisionError, ValueError) as e9:
            v10 = type(e9).__name__ + str(e9)
            v11 = torch.where(a2 > 0, a2, torch.ones((0,))) + a2.amax()
        else:
            v12 = Box(G_N)
            G_D.update(dict({**G_D, 'a': G_N}))
    else:
        v16 = [torch.ones((0,)).numel() for q14 in [q15 for q15 in G_L if False] if torch.ones((0,)).is_floating_point()]
    v17 = (a3 * 2 if True else a3) + (a1 + 0.5)
    t18 = a3.amax() * 2 if G_N < G_N <= G_N else a3.amax()
    t19 = torch.where(torch.ones((0,)) > 0, torch.ones((0,)), a2) * 2 if torch.ones((0,)).dtype == torch.float32 else torch.where(torch.ones((0,)) > 0, torch.ones((0,)), a2)
    return (t18, t19, v17, v17)


INPUTS = (torch.tensor([], dtype=torch.float64), torch.tensor([], dtype=torch.float64), torch.tensor([], dtype=torch.float32), torch.tensor([], dtype=torch.float32))

if __name__ == '__main__':
    import tracer

    report = tracer.check(fn, INPUTS, against=('eager', 'dynamo'))
    print(report)
    raise SystemExit(0 if report.ok else 1)
