"""What the paper measures inside nets, and how it reads its curves.

    gradients    gradient norms and layer responses read as the paper reads them (Fig. 7; the
                 first-to-last ratio; fresh nets at initialisation); the trainer records them
                 with :mod:`resnet_edu.train.probes`
    features     feature maps and attributions with Captum (low / mid / high-level features)
    lesion       deleting one block at a time from a trained net (Veit et al. 2016)
    landscape/   loss landscapes around trained weights (Li et al. 2018)
    degradation  runs summarised as the paper's figures and tables read them (Fig. 1, Fig. 6, Table 6)
    verdict      a comparison read in words, with the noise it must beat
"""
