# snaptrace fuzz reproducer; constructs: arith, attr_write, break, class, closure, compare, comprehension, container_methods, continue, for, if, mutate_global, mutate_input, raise, tensor_op, try, unpacking, while
# dynamo: exception: AssertionError('exception table entry start instruction has no offset\n\nfrom user code:\n   File "<fuzz-program-53>", line 63, in fn\n    while w13 < 4 and bool((a0 - 2.0 > 0).any()):\n                      ^^^^^^^^^^^^^^^^^^^^^^^^^^^\n\nSet TORCHDYNAMO_VERBOSE=1 for the internal stack trace (please do this especially if you\'re reporting a bug to PyTorch). For even more developer context, set TORCH_LOGS="+dynamo"\n') != no exception
import torch

G_N = -2
G_L = [1, 1, 5]
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
    global G_N
    o1 = Box(0)
    o1.v = o1.v * 2
    for i2 in list(range(abs(5) % 5))[int(True):(lambda q: q * 2 + G_N)(a2)][:6]:
        if a2 * a2 in [2, 3, 0]:
            continue
        w3 = 0
        while w3 < 4 and ('c' in {} or not False):
            w3 += 1
            v5 = len([i2 for q4 in G_L if False])

            def f6():
                nonlocal i2
                i2 = i2 + (-3 if False else G_N)
                return i2
            v7 = f6()
        G_N = G_N + -(lambda q: q * 2 + G_N)(a2)
        v8, v9 = divmod(o1.v, abs(len(list({'b': 6, 'a': 2}.values()))) + 1)

    def f10(p12, scale=2):
        return 8 * scale
    v11 = f10(2)
    w13 = 0
    while w13 < 4 and bool((a0 - 2.0 > 0).any()):
        w13 += 1
        if 'a' in dict(zip(['a', 'b', 'c'], [6, 4])):
            break
        for k14, i15 in list(dict({'c': 4, 'b': 0}).items()):
            G_D['b'] = sum(list(range(abs(i15) % 5)))
            if G_L:
                del G_L[0]
            v16 = False

        def f17(p19, scale=2):
            return (lambda q: q * 2 + v11)(-1) ** 2 * scale
        v18 = f17((lambda q: q * 2 + v11 * v11)(sum(G_L)))
        w20 = 0
        while w20 < 4 and sum(G_L) < max(1, G_N):
            w20 += 1
            if a2 not in G_L and False:
                break
            a0 *= torch.maximum(a0 + G_N, torch.zeros_like(a0) + 0.001)
    v21 = {'c': 9}
    try:
        v22 = int(0.5 >= 3.5) // int(0.5 >= 3.5)
        G_D['c'] = v11
        v25 = torch.relu(a0).clamp(min=v11 * -3)
    except (IndexError, KeyError, ZeroDivisionError, ValueError) as e26:
        v27 = type(e26).__name__ + str(e26)
        for i28 in range(min(abs((lambda q: q * 2 + ([][a2 % len([])] if [] else a2))([-2, -1][a2 % len([-2, -1])] if [-2, -1] else a2)), 4)):
            v29, v30 = (min(v11, i28) - 3, bool(list(reversed(G_L))))
            if len(G_L) == (7 if False else v29):
                raise ValueError(v27)
            if v30:
                return (o1, a1, v27)
    finally:

        def f31():
            nonlocal v11
            v11 = v11 + 10
            return v11
        v32 = f31()

        def f33(p35, scale=2):
            return len([5, 3, 0]) * scale
        v34 = f33(len('ab'))
    t36 = torch.zeros_like(a0 * 2 if False else a0) + (0.0 - -1.25)
    return (t36, a2, t36, t36)


INPUTS = (torch.tensor([1.17689049243927, -0.6706920266151428, -0.9585008025169373], dtype=torch.float32), torch.tensor([2.4098281860351562, 0.5245001316070557, 0.26693427562713623], dtype=torch.float32), 0)

if __name__ == '__main__':
    import tracer

    report = tracer.check(fn, INPUTS, against=('eager', 'dynamo'))
    print(report)
    raise SystemExit(0 if report.ok else 1)
