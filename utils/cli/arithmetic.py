"""`dcgan.py arithmetic`: A - B + C on concept vectors of z, concepts picked by index or by a classifier."""

from utils.analysis.arithmetic import CONCEPTS, MIN_SAMPLES, parse_indices
from utils.analysis.arithmetic_classifier import CLASSIFIER_RANGES, check_classifier, parse_class_spec
from utils.cli.flags import add_generator_flag, add_out_flag, check_out_file, positive_int, print_result
from utils.errors import UserError


def register(commands):
    """Add the `arithmetic` subcommand to `commands` (argparse subparsers)."""
    parser = commands.add_parser(
        "arithmetic",
        help="vector arithmetic on z: mean(A) - mean(B) + mean(C), decoded with 8 noisy neighbours",
        description="Generate --candidates images from --seed. Each concept A, B, C is the mean z of at least 3 "
        "of them, given as indices (--a 3,17,42) or picked as the candidates a --classifier is most confident "
        "about (--a-class 7: class 7 of a softmax; --a-class 31=1,20=0: sigmoid attribute 31 present and 20 "
        "absent). The figure shows each concept's samples and its mean's image, then A - B + C and 8 neighbours "
        "with uniform noise. Without concepts, --out gets the numbered candidate grid to pick indices from.",
    )
    add_generator_flag(parser)
    parser.add_argument(
        "--candidates", type=positive_int, default=64, help="candidate images to pick from (default 64)"
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of the candidates and of the noise (default 0)")
    parser.add_argument("--latent-dim", type=positive_int, help="fail unless the generator takes this latent size")
    for name in CONCEPTS:
        group = parser.add_mutually_exclusive_group()
        group.add_argument(f"--{name}", help=f"concept {name.upper()}: 3 or more candidate indices, e.g. 3,17,42")
        group.add_argument(f"--{name}-class", help=f"concept {name.upper()}: a class (7) or attributes (31=1,20=0)")
    parser.add_argument("--classifier", help="saved Keras model mapping images to class logits or probabilities")
    parser.add_argument(
        "--classifier-range",
        choices=list(CLASSIFIER_RANGES),
        default="signed",
        help="pixels the classifier expects: signed [-1, 1] (default, as the generator's), unit [0, 1], uint8 [0, 255]",
    )
    parser.add_argument("--per-concept", type=int, default=3, help="samples per --X-class concept (default 3)")
    parser.add_argument("--expect-class", help="class or attributes A - B + C should show: reports the hit fraction")
    parser.add_argument("--noise-scale", type=float, default=0.25, help="neighbours' noise U(-s, s) (default 0.25)")
    parser.add_argument("--candidate-grid", help="also write the numbered candidate grid to this PNG")
    add_out_flag(parser, "arithmetic figure (without concepts: the numbered candidates)")
    parser.set_defaults(func=run)


def _check(args):
    """Check the flags before TensorFlow loads; returns {concept: indices list or class spec} and the spec list."""
    given = [name for name in CONCEPTS if getattr(args, name) or getattr(args, f"{name}_class")]
    if given and len(given) != len(CONCEPTS):
        raise UserError("give all three concepts (--a or --a-class, --b or --b-class, --c or --c-class), or none")
    if args.per_concept < MIN_SAMPLES:
        raise UserError(f"--per-concept must be at least {MIN_SAMPLES}: a concept is a mean over 3 or more samples")
    if not 0.0 <= args.noise_scale < float("inf"):
        raise UserError(f"--noise-scale must be a finite number >= 0, not {args.noise_scale}")
    concepts = {}
    for name in given:
        if getattr(args, name):
            concepts[name] = parse_indices(getattr(args, name), args.candidates, f"--{name}")
        else:
            concepts[name] = parse_class_spec(getattr(args, f"{name}_class"), f"--{name}-class")
    specs = [value for value in concepts.values() if isinstance(value, tuple)]
    if args.expect_class:
        specs.append(parse_class_spec(args.expect_class, "--expect-class"))
    if specs and not args.classifier:
        raise UserError("--a-class, --b-class, --c-class and --expect-class need --classifier FILE")
    return concepts, specs


def _load_classifier(path, image_shape, specs):
    """Load the classifier and check that it takes the generator's images and has the named outputs."""
    from utils.training.saving import load_model

    classifier = load_model(path)
    check_classifier(classifier, image_shape, specs, path)
    return classifier


def run(args):
    """Pick the concepts, decode A - B + C with its neighbours, write the figure, print JSON; returns 0."""
    _, specs = _check(args)
    out = check_out_file(args.out)
    grid_out = check_out_file(args.candidate_grid) if args.candidate_grid else None
    from utils.analysis.arithmetic import vector_arithmetic
    from utils.training.saving import load_generator

    generator = load_generator(args.generator, args.latent_dim)
    classifier = _load_classifier(args.classifier, generator.output_shape[1:], specs) if args.classifier else None
    result = vector_arithmetic(
        generator,
        **{name: getattr(args, name) for name in CONCEPTS},
        classifier=classifier,
        **{f"{name}_class": getattr(args, f"{name}_class") for name in CONCEPTS},
        expect_class=args.expect_class,
        classifier_range=args.classifier_range,
        per_concept=args.per_concept,
        noise_scale=args.noise_scale,
        candidates=args.candidates,
        seed=args.seed,
        candidate_grid=grid_out,
        out=out,
    )
    print_result(result)
    return 0
