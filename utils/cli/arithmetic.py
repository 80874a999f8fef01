"""`dcgan.py arithmetic`: A - B + C on concept vectors of z, concepts picked by index or by a classifier."""

from utils.cli.flags import add_generator_flag, add_out_flag, check_out_file, positive_int, print_result
from utils.errors import UserError

CONCEPTS = ("a", "b", "c")
MIN_SAMPLES = 3  # the paper averages z over three samples per concept
CLASSIFIER_RANGES = {"signed": (-1.0, 1.0), "unit": (0.0, 1.0), "uint8": (0.0, 255.0)}


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


def parse_indices(text, candidates, flag):
    """Read 3 or more distinct candidate indices such as "3,17,42"; returns a list of ints."""
    try:
        indices = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise UserError(f"{flag} takes comma-separated candidate indices such as 3,17,42, not {text!r}") from None
    if len(set(indices)) != len(indices):
        raise UserError(f"{flag} {text} repeats an index")
    if len(indices) < MIN_SAMPLES:
        raise UserError(f"{flag} needs at least {MIN_SAMPLES} samples to average, got {len(indices)}")
    bad = [index for index in indices if not 0 <= index < candidates]
    if bad:
        raise UserError(f"{flag}: index {bad[0]} is outside the {candidates} candidates (0..{candidates - 1})")
    return indices


def parse_class_spec(text, flag):
    """Read "7" (one class of a softmax) or "31=1,20=0" (sigmoid attributes wanted 1 or 0).

    Returns:
        (pairs, attributes): a tuple of (output index, wanted value), and whether the spec names attributes.
    """
    attributes = "=" in text
    pairs = []
    try:
        for part in text.split(","):
            index, _, value = part.partition("=")
            pairs.append((int(index), int(value) if attributes else 1))
    except ValueError:
        raise UserError(
            f"{flag} takes a class index such as 7, or attributes such as 31=1,20=0, not {text!r}"
        ) from None
    if not attributes and len(pairs) != 1:
        raise UserError(f"{flag} {text}: name one class, or attributes as INDEX=0|1,INDEX=0|1")
    if any(index < 0 or value not in (0, 1) for index, value in pairs):
        raise UserError(f"{flag} {text}: indices must be >= 0 and attribute values 0 or 1")
    if len({index for index, _ in pairs}) != len(pairs):
        raise UserError(f"{flag} {text} names an output twice")
    return tuple(pairs), attributes


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
    if tuple(classifier.input_shape[1:]) != tuple(image_shape) or len(classifier.output_shape) != 2:
        raise UserError(
            f"classifier {path} maps {classifier.input_shape} to {classifier.output_shape}; it must map the "
            f"generator's images {(None, *image_shape)} to (None, classes)"
        )
    named = max((index for pairs, _ in specs for index, _ in pairs), default=-1)
    if named >= classifier.output_shape[1]:
        raise UserError(f"classifier {path} has {classifier.output_shape[1]} outputs; a class spec names {named}")
    return classifier


def _captions(name, concept):
    """Labels of one concept's samples ("#17 p=0.98") and its row title ("A: class 7")."""
    scores = concept["confidence"] or [None] * len(concept["indices"])
    labels = [
        f"#{index}" + ("" if p is None else f" p={p:.2f}") for index, p in zip(concept["indices"], scores, strict=True)
    ]
    title = name.upper() + (f": class {concept['class']}" if concept["class"] else "")
    return labels, title


def run(args):
    """Pick the concepts, decode A - B + C with its neighbours, write the figure, print JSON; returns 0."""
    concepts, specs = _check(args)
    out = check_out_file(args.out)
    grid_out = check_out_file(args.candidate_grid) if args.candidate_grid else None
    import numpy as np

    from utils.analysis import arithmetic
    from utils.analysis.latent import predict
    from utils.training.samples import sample_latent
    from utils.training.saving import load_generator

    generator = load_generator(args.generator, args.latent_dim)
    image_shape = generator.output_shape[1:]
    classifier = _load_classifier(args.classifier, image_shape, specs) if args.classifier else None
    attributes = any(is_attributes for _, is_attributes in specs)
    low, high = CLASSIFIER_RANGES[args.classifier_range]

    def classify(images):
        outputs = predict(classifier, (images + 1.0) / 2.0 * (high - low) + low)
        return arithmetic.class_probabilities(outputs, attributes)

    z = sample_latent(args.candidates, generator.input_shape[-1], args.seed)
    images = predict(generator, z)
    probabilities = classify(images) if classifier else None
    labels = [str(index) for index in range(args.candidates)]
    if classifier:
        labels = [
            f"{index}: {label}" for index, label in enumerate(arithmetic.predicted_labels(probabilities, attributes))
        ]
    if grid_out or not concepts:
        arithmetic.draw_candidates(images, labels, grid_out or out)
    if not concepts:
        print_result({"mode": "candidates", "candidates": args.candidates, "seed": args.seed, "out": str(out)})
        return 0

    picked = {}
    for name, value in concepts.items():
        if isinstance(value, list):
            picked[name] = {"indices": value, "class": None, "confidence": None}
        else:
            indices, scores = arithmetic.pick_confident(probabilities, value[0], args.per_concept)
            picked[name] = {"indices": indices, "class": getattr(args, f"{name}_class"), "confidence": scores}
    means = [arithmetic.concept_mean(z, picked[name]["indices"]) for name in CONCEPTS]
    result_z = arithmetic.with_neighbours(arithmetic.combine(*means), args.noise_scale, seed=args.seed)
    results = predict(generator, result_z)
    result_probabilities = classify(results) if classifier else None
    result_labels = arithmetic.predicted_labels(result_probabilities, attributes) if classifier else None
    samples = [images[picked[name]["indices"]] for name in CONCEPTS]
    captions, titles = zip(*(_captions(name, picked[name]) for name in CONCEPTS), strict=True)
    means_images = predict(generator, np.stack(means))
    arithmetic.draw_arithmetic(samples, captions, titles, means_images, results, result_labels, args.noise_scale, out)

    report = {
        "mode": "classifier" if any(picked[name]["class"] for name in CONCEPTS) else "indices",
        "candidates": args.candidates,
        "seed": args.seed,
        "concepts": picked,
        "noise_scale": args.noise_scale,
        "result_norm": float(np.linalg.norm(result_z[arithmetic.CENTRE])),
        "out": str(out),
    }
    if classifier:
        report["result_predicted"] = arithmetic.predicted_histogram(result_probabilities, attributes)
        report["expect_class"] = args.expect_class
        expected = arithmetic.matches(result_probabilities, specs[-1][0], attributes) if args.expect_class else None
        report["expected_fraction"] = float(expected.mean()) if expected is not None else None
    print_result(report)
    return 0
